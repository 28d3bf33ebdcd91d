-- error: table "t2" has computed columns (d), so it can only be read
CREATE TABLE t (k BIGINT, p ROW<id BIGINT, name STRING>, ts TIMESTAMP(3), d AS ts + INTERVAL '1' DAY) WITH ('connector' = 'kafka', 'topic' = 't', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE t2 (k BIGINT, d AS k + 1) WITH ('connector' = 'print');
INSERT INTO t2 SELECT k FROM t;
