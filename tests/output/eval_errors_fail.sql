-- Evaluation errors under the default policy ('format.bad-records' = 'fail'): the first epoch
-- is written; the division by zero in the second stops the run, naming the sink, the
-- expression, the error and the row, and nothing of that epoch is written.
CREATE TABLE t (k STRING, a BIGINT, b BIGINT) WITH ('connector' = 'kafka', 'topic' = 't', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE ratio (k STRING, q BIGINT) WITH ('connector' = 'print');
INSERT INTO ratio SELECT k, a / b FROM t;
