-- error: has PARTITIONED BY, which only a 'filesystem' sink takes
CREATE TABLE bids (auction BIGINT, price BIGINT, bidder STRING, ts TIMESTAMP(3)) WITH ('connector' = 'kafka', 'topic' = 'bids', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE out1 (auction BIGINT, price BIGINT) PARTITIONED BY (auction) WITH ('connector' = 'kafka', 'topic' = 'o', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
INSERT INTO out1 SELECT auction, price FROM bids;
