-- error: 2:44: a WATERMARK is FOR a TIMESTAMP column AS a TIMESTAMP expression, not BIGINT and BIGINT
CREATE TABLE t (k BIGINT, ts TIMESTAMP(3), WATERMARK FOR k AS k - 5) WITH ('connector' = 'kafka', 'topic' = 't', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE o (k BIGINT) WITH ('connector' = 'print');
INSERT INTO o SELECT k FROM t;
