-- error: 'key.format' = 'raw' of sink "out1" writes one STRING column, but the key is (auction)
CREATE TABLE bids (auction BIGINT, price BIGINT, bidder STRING) WITH ('connector' = 'kafka', 'topic' = 'bids', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE out1 (auction BIGINT, n BIGINT, PRIMARY KEY (auction) NOT ENFORCED) WITH ('connector' = 'upsert-kafka', 'topic' = 'o', 'properties.bootstrap.servers' = 'b:9092', 'key.format' = 'raw', 'value.format' = 'csv');
INSERT INTO out1 SELECT auction, COUNT(*) FROM bids GROUP BY auction;
