-- error: SUM() needs a numeric argument, not STRING
CREATE TABLE words (value STRING) WITH ('connector' = 'kafka', 'topic' = 'in', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'raw');
CREATE TABLE out1 (a STRING, n BIGINT) WITH ('connector' = 'print');
INSERT INTO out1 SELECT value, SUM(value) FROM words GROUP BY value;
