-- error: invalid value 'earliest' for option 'scan.startup.mode'
CREATE TABLE words (value STRING) WITH ('connector' = 'kafka', 'topic' = 'in', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'raw', 'scan.startup.mode' = 'earliest');
CREATE TABLE out1 (a STRING, n BIGINT) WITH ('connector' = 'print');
INSERT INTO out1 SELECT value, COUNT(*) FROM words GROUP BY value;
