-- error: unknown function SELF
CREATE TABLE t (s STRING, n BIGINT) WITH ('connector' = 'kafka', 'topic' = 't', 'properties.bootstrap.servers' = 'localhost:9092', 'format' = 'json');
CREATE FUNCTION self(x BIGINT) RETURNS BIGINT RETURN self(x - 1);
CREATE TABLE o (n BIGINT) WITH ('connector' = 'print');
INSERT INTO o SELECT self(n) FROM t;
