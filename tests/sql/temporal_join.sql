-- A temporal join keyed by a two-column primary key, with the rest of ON a residual, and a
-- GROUP BY over it (the join's rows are taken back when a late version arrives: not insert-only).
CREATE TABLE orders (id BIGINT, c STRING, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH ('connector' = 'kafka', 'topic' = 'o', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE rates (c STRING, region STRING, rate BIGINT, ts TIMESTAMP(3), PRIMARY KEY (c, region) NOT ENFORCED, WATERMARK FOR ts AS ts) WITH ('connector' = 'kafka', 'topic' = 'r', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE out1 (c STRING, mx BIGINT) WITH ('connector' = 'print');
INSERT INTO out1 SELECT o.c, MAX(r.rate) FROM orders AS o
  LEFT JOIN rates
    FOR SYSTEM_TIME AS OF o.ts AS r
  ON r.c = o.c AND r.region = 'eu' AND r.rate > o.id GROUP BY o.c;
