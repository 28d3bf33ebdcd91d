-- error: operator * cannot apply to INTERVAL DAY TO SECOND and DECIMAL(2, 1)
CREATE TABLE t (k BIGINT, p ROW<id BIGINT, name STRING>, ts TIMESTAMP(3), d AS ts + INTERVAL '1' DAY) WITH ('connector' = 'kafka', 'topic' = 't', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE o (k BIGINT, ts TIMESTAMP(3)) WITH ('connector' = 'print');
INSERT INTO o SELECT k, ts + INTERVAL '1' SECOND * 1.5 FROM t;
