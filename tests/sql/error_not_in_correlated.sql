-- error: NOT IN with a correlated subquery is not supported
CREATE TABLE bids (auction BIGINT, bidder BIGINT) WITH ('connector' = 'kafka', 'topic' = 'bids', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE auctions (id BIGINT, seller BIGINT) WITH ('connector' = 'kafka', 'topic' = 'auctions', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE out1 (auction BIGINT) WITH ('connector' = 'print');
INSERT INTO out1 SELECT auction FROM bids b WHERE bidder NOT IN (SELECT seller FROM auctions a WHERE a.id = b.auction);
