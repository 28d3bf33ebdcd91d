-- error: the body of HALF is STRING, not the BIGINT it RETURNS
CREATE TABLE t (s STRING, n BIGINT) WITH ('connector' = 'kafka', 'topic' = 't', 'properties.bootstrap.servers' = 'localhost:9092', 'format' = 'json');
CREATE FUNCTION half(x BIGINT) RETURNS BIGINT RETURN CONCAT('a', 'b');
CREATE TABLE o (n BIGINT) WITH ('connector' = 'print');
INSERT INTO o SELECT half(n) FROM t;
