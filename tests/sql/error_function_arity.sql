-- error: TWICE() takes 1 arguments, got 2
CREATE TABLE t (s STRING, n BIGINT) WITH ('connector' = 'kafka', 'topic' = 't', 'properties.bootstrap.servers' = 'localhost:9092', 'format' = 'json');
CREATE FUNCTION twice(x BIGINT) RETURNS BIGINT RETURN x * 2;
CREATE TABLE o (n BIGINT) WITH ('connector' = 'print');
INSERT INTO o SELECT twice(n, n) FROM t;
