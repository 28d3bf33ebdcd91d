-- A temporal join (FOR SYSTEM_TIME AS OF): each order joins the rate of its currency valid at
-- the order's time, the latest version not after it. A version that arrives late (EUR at 3 s,
-- in epoch 2) moves the orders still ahead of the watermark to it; an order behind the
-- watermark of the epoch before it (its greatest time less 5 s) is late and dropped. In the
-- LEFT join, an order with no version valid at its time (GBP at 1 s, before GBP's first
-- version), with a NULL currency, or whose version fails the rest of ON gets NULLs.
CREATE TABLE orders (id BIGINT, currency STRING, amount BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '5' SECOND) WITH ('connector' = 'kafka', 'topic' = 'orders', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE rates (currency STRING, rate DECIMAL(10, 2), ts TIMESTAMP(3), PRIMARY KEY (currency) NOT ENFORCED, WATERMARK FOR ts AS ts) WITH ('connector' = 'kafka', 'topic' = 'rates', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE priced (id BIGINT, currency STRING, amount BIGINT, rate DECIMAL(10, 2), since TIMESTAMP(3)) WITH ('connector' = 'print');
CREATE TABLE priced_left (id BIGINT, rate DECIMAL(10, 2)) WITH ('connector' = 'print');

INSERT INTO priced
SELECT o.id, o.currency, o.amount, r.rate, r.ts
FROM orders AS o
JOIN rates FOR SYSTEM_TIME AS OF o.ts AS r
  ON o.currency = r.currency;

INSERT INTO priced_left
SELECT o.id, r.rate
FROM orders o LEFT JOIN rates FOR SYSTEM_TIME AS OF o.ts r ON r.currency = o.currency AND r.rate < 1.25;
