-- OVER aggregates (Flink's over aggregation): each bid with the average of the bidder's last
-- three bids (ROWS), the count of the auction's bids in the hour up to it (RANGE with an
-- interval), the running maximum (no frame: the partition up to the row's peers), and the
-- minimum over a whole partition (no ORDER BY).
CREATE TABLE bids (auction BIGINT, price BIGINT, bidder STRING, ts TIMESTAMP(3)) WITH ('connector' = 'kafka', 'topic' = 'bids', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE out1 (auction BIGINT, price BIGINT, last3 BIGINT, hourly BIGINT, best BIGINT, low BIGINT) WITH ('connector' = 'print');
INSERT INTO out1
SELECT auction, price,
    AVG(price) OVER (PARTITION BY bidder ORDER BY ts ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS last3,
    COUNT(*) OVER (PARTITION BY auction ORDER BY ts RANGE BETWEEN INTERVAL '1' HOUR PRECEDING AND CURRENT ROW) AS hourly,
    MAX(price) OVER (PARTITION BY auction ORDER BY ts) AS best,
    MIN(price) OVER (PARTITION BY auction)
FROM bids WHERE price > 0;
