-- error: table "words" needs option 'topic'
CREATE TABLE words (value STRING) WITH ('connector' = 'kafka', 'properties.bootstrap.servers' = 'b', 'format' = 'raw');
CREATE TABLE out1 (a STRING, n BIGINT) WITH ('connector' = 'print');
INSERT INTO out1 SELECT value, COUNT(*) FROM words GROUP BY value;
