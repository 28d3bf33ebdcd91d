-- error: TUMBLE_START() does not match the GROUP BY's TUMBLE(ts, INTERVAL '10' SECOND)
CREATE TABLE t (k STRING, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH ('connector' = 'kafka', 'topic' = 't', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE o (k STRING, n BIGINT, s TIMESTAMP(3)) WITH ('connector' = 'print');
INSERT INTO o SELECT k, COUNT(*), TUMBLE_START(ts, INTERVAL '5' SECOND) FROM t GROUP BY k, TUMBLE(ts, INTERVAL '10' SECOND);
