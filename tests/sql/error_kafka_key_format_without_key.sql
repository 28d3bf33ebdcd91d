-- error: sets 'key.format' but has no key
CREATE TABLE bids (auction BIGINT, price BIGINT, bidder STRING) WITH ('connector' = 'kafka', 'topic' = 'bids', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE out1 (bidder STRING, price BIGINT) WITH ('connector' = 'kafka', 'topic' = 'o', 'properties.bootstrap.servers' = 'b:9092', 'key.format' = 'raw', 'format' = 'csv');
INSERT INTO out1 SELECT bidder, price FROM bids;
