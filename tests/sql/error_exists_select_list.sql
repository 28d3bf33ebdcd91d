-- error: unknown function FOO()
CREATE TABLE bids (auction BIGINT, bidder BIGINT) WITH ('connector' = 'kafka', 'topic' = 'bids', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE auctions (id BIGINT, seller BIGINT) WITH ('connector' = 'kafka', 'topic' = 'auctions', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE out1 (auction BIGINT) WITH ('connector' = 'print');
INSERT INTO out1 SELECT auction FROM bids b WHERE EXISTS (SELECT FOO(seller) FROM auctions a WHERE a.id = b.auction);
