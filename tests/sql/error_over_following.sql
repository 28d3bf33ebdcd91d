-- error: a frame that does not end at the current row is not supported in an OVER window
CREATE TABLE bids (auction BIGINT, price BIGINT, bidder STRING, ts TIMESTAMP(3)) WITH ('connector' = 'kafka', 'topic' = 'bids', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE out1 (auction BIGINT, n BIGINT) WITH ('connector' = 'print');
INSERT INTO out1 SELECT auction, SUM(price) OVER (PARTITION BY auction ORDER BY ts ROWS BETWEEN CURRENT ROW AND 1 FOLLOWING) FROM bids;
