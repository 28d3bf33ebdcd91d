-- Evaluation errors under a source that skips bad records: a row on which an expression fails
-- (division by zero, a CAST that does not convert, BIGINT overflow) is dropped and counted,
-- wherever the expression is: a select list, a WHERE, a GROUP BY key, a join key or a join's
-- ON condition. TRY_CAST gives NULL instead.
CREATE TABLE t (k STRING, a BIGINT, b BIGINT, s STRING) WITH ('connector' = 'kafka', 'topic' = 't', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json', 'format.bad-records' = 'skip');
CREATE TABLE u (k STRING, n BIGINT) WITH ('connector' = 'kafka', 'topic' = 'u', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json', 'format.bad-records' = 'skip');
CREATE TABLE ratio (k STRING, q BIGINT, n BIGINT, tn BIGINT) WITH ('connector' = 'print');
CREATE TABLE kept (k STRING) WITH ('connector' = 'print');
CREATE TABLE per_quotient (q BIGINT, c BIGINT) WITH ('connector' = 'print');
CREATE TABLE joined (k STRING, n BIGINT) WITH ('connector' = 'print');
CREATE TABLE grown (k STRING, big BIGINT) WITH ('connector' = 'print');
CREATE TABLE tried (k STRING, n BIGINT) WITH ('connector' = 'print');

INSERT INTO ratio SELECT k, a / b, CAST(s AS BIGINT), TRY_CAST(s AS BIGINT) FROM t;
INSERT INTO kept SELECT k FROM t WHERE a % b = 0;
INSERT INTO per_quotient SELECT a / b, COUNT(*) FROM t GROUP BY a / b;
INSERT INTO joined SELECT t.k, u.n FROM t JOIN u ON t.a / t.b = u.n AND CAST(t.s AS BIGINT) > 0;
INSERT INTO grown SELECT k, a * 4611686018427387904 FROM t;
INSERT INTO tried SELECT k, TRY_CAST(s AS BIGINT) FROM t;
