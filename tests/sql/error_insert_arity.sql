-- error: the query has 1 columns, but table "out1" has 2
CREATE TABLE words (value STRING) WITH ('connector' = 'kafka', 'topic' = 'in', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'raw');
CREATE TABLE out1 (a STRING, n BIGINT) WITH ('connector' = 'print');
INSERT INTO out1 SELECT value FROM words;
