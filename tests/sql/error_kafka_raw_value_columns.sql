-- error: 'value.format' = 'raw' of sink "out1" writes one STRING column, but the value is (bidder, n)
CREATE TABLE bids (auction BIGINT, price BIGINT, bidder STRING) WITH ('connector' = 'kafka', 'topic' = 'bids', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE out1 (bidder STRING, n BIGINT, PRIMARY KEY (bidder) NOT ENFORCED) WITH ('connector' = 'upsert-kafka', 'topic' = 'o', 'properties.bootstrap.servers' = 'b:9092', 'key.format' = 'raw', 'value.format' = 'raw');
INSERT INTO out1 SELECT bidder, COUNT(*) FROM bids GROUP BY bidder;
