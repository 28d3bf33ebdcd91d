-- error: an OVER aggregate in a query with GROUP BY (or another aggregate) is not supported
CREATE TABLE bids (auction BIGINT, price BIGINT, bidder STRING, ts TIMESTAMP(3)) WITH ('connector' = 'kafka', 'topic' = 'bids', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE out1 (auction BIGINT, n BIGINT) WITH ('connector' = 'print');
INSERT INTO out1 SELECT auction, SUM(COUNT(*)) OVER (ORDER BY auction) FROM bids GROUP BY auction;
