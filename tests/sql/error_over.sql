-- error: OVER windows are not supported yet
CREATE TABLE bids (auction BIGINT, price BIGINT) WITH ('connector' = 'kafka', 'topic' = 'bids', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE out1 (auction BIGINT, n BIGINT) WITH ('connector' = 'print');
INSERT INTO out1 SELECT auction, LAG(price) OVER (PARTITION BY auction ORDER BY price) FROM bids;
