-- error: PARTITIONED BY names "day", which is not a column of "out1"
CREATE TABLE bids (auction BIGINT, price BIGINT, bidder STRING, ts TIMESTAMP(3)) WITH ('connector' = 'kafka', 'topic' = 'bids', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE out1 (auction BIGINT, price BIGINT) PARTITIONED BY (day) WITH ('connector' = 'filesystem', 'path' = '/tmp/o', 'format' = 'csv');
INSERT INTO out1 SELECT auction, price FROM bids;
