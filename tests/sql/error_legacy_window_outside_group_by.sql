-- error: 4:25: TUMBLE_END() is a group window function, which belongs in GROUP BY
CREATE TABLE t (k STRING, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH ('connector' = 'kafka', 'topic' = 't', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE o (k STRING, e TIMESTAMP(3)) WITH ('connector' = 'print');
INSERT INTO o SELECT k, TUMBLE_END(ts, INTERVAL '10' SECOND) FROM t;
