-- error: '2026-02-30' is not a DATE
CREATE TABLE t (d DATE) WITH ('connector' = 'kafka', 'topic' = 'in', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE o (d DATE) WITH ('connector' = 'print');
INSERT INTO o SELECT d FROM t WHERE d > DATE '2026-02-30';
