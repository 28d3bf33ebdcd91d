-- Flink's legacy group windows, rewritten to the window table functions: TUMBLE and HOP with
-- their auxiliary functions, and SESSION partitioned by the other GROUP BY columns.
CREATE TABLE t (k STRING, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH ('connector' = 'kafka', 'topic' = 't', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE tumbling (k STRING, n BIGINT, s TIMESTAMP(3), e TIMESTAMP(3), r TIMESTAMP(3)) WITH ('connector' = 'print');
CREATE TABLE hopping (n BIGINT, e TIMESTAMP(3)) WITH ('connector' = 'print', 'sink.emit' = 'on-window-close');
CREATE TABLE sessions (k STRING, n BIGINT, s TIMESTAMP(3)) WITH ('connector' = 'print');
INSERT INTO tumbling SELECT k, COUNT(*), TUMBLE_START(ts, INTERVAL '10' SECOND), TUMBLE_END(ts, INTERVAL '10' SECOND), TUMBLE_ROWTIME(ts, INTERVAL '10' SECOND) FROM t GROUP BY k, TUMBLE(ts, INTERVAL '10' SECOND);
INSERT INTO hopping SELECT COUNT(*), HOP_END(ts, INTERVAL '5' SECOND, INTERVAL '10' SECOND) FROM t GROUP BY HOP(ts, INTERVAL '5' SECOND, INTERVAL '10' SECOND);
INSERT INTO sessions SELECT k, COUNT(*), SESSION_START(ts, INTERVAL '30' SECOND) FROM t GROUP BY SESSION(ts, INTERVAL '30' SECOND), k HAVING COUNT(*) > 1;
