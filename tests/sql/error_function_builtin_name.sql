-- error: UPPER is a built-in function
CREATE TABLE t (s STRING, n BIGINT) WITH ('connector' = 'kafka', 'topic' = 't', 'properties.bootstrap.servers' = 'localhost:9092', 'format' = 'json');
CREATE FUNCTION upper(x STRING) RETURNS STRING RETURN x;
CREATE TABLE o (s STRING) WITH ('connector' = 'print');
INSERT INTO o SELECT upper(s) FROM t;
