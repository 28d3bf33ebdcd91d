-- error: NATURAL joins are not supported
CREATE TABLE words (value STRING) WITH ('connector' = 'kafka', 'topic' = 'in', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'raw');
CREATE TABLE out1 (a STRING, n BIGINT) WITH ('connector' = 'print');
INSERT INTO out1 SELECT a.value, COUNT(*) FROM words a NATURAL JOIN words b GROUP BY a.value;
