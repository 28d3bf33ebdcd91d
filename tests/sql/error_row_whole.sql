-- error: 4:25: "p" is a ROW column: read its fields, not the whole row
CREATE TABLE t (k BIGINT, p ROW<id BIGINT, name STRING>, ts TIMESTAMP(3), d AS ts + INTERVAL '1' DAY) WITH ('connector' = 'kafka', 'topic' = 't', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE o (k BIGINT, n STRING) WITH ('connector' = 'print');
INSERT INTO o SELECT k, p FROM t;
