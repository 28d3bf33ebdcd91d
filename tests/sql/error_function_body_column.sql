-- error: unknown column "n"
CREATE TABLE t (s STRING, n BIGINT) WITH ('connector' = 'kafka', 'topic' = 't', 'properties.bootstrap.servers' = 'localhost:9092', 'format' = 'json');
CREATE FUNCTION plus_n(x BIGINT) RETURNS BIGINT RETURN x + n;
CREATE TABLE o (n BIGINT) WITH ('connector' = 'print');
INSERT INTO o SELECT plus_n(n) FROM t;
