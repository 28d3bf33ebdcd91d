-- SQL functions: defined once, inlined at each call (a function may call an earlier one).
CREATE TABLE t (s STRING, n BIGINT) WITH ('connector' = 'kafka', 'topic' = 't', 'properties.bootstrap.servers' = 'localhost:9092', 'format' = 'json');
CREATE FUNCTION count_char(s STRING, ch STRING) RETURNS BIGINT
RETURN COALESCE(CHAR_LENGTH(s) - CHAR_LENGTH(REPLACE(s, ch, '')), 0);
CREATE FUNCTION twice(x BIGINT) RETURNS BIGINT RETURN x * 2;
CREATE FUNCTION twice_count(s STRING, ch STRING) RETURNS DECIMAL(10, 1) RETURN twice(count_char(s, ch));
CREATE TABLE o (a BIGINT, b BIGINT, c DECIMAL(10, 1)) WITH ('connector' = 'print');
INSERT INTO o SELECT count_char(s, 'c'), twice(n), twice_count(s, 'a') FROM t WHERE count_char(NULL, 'x') = 0;
