-- error: needs exactly one non-metadata column of type STRING
CREATE TABLE words (value STRING, other STRING) WITH ('connector' = 'kafka', 'topic' = 'in', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'raw');
CREATE TABLE out1 (a STRING, n BIGINT) WITH ('connector' = 'print');
INSERT INTO out1 SELECT value, COUNT(*) FROM words GROUP BY value;
