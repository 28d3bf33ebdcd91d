-- error: is a changelog Kafka sink whose value format ('csv' or 'raw') has no change kind, which takes only inserts
CREATE TABLE bids (auction BIGINT, price BIGINT, bidder STRING) WITH ('connector' = 'kafka', 'topic' = 'bids', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE out1 (bidder STRING, n BIGINT) WITH ('connector' = 'kafka', 'topic' = 'o', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'csv');
INSERT INTO out1 SELECT bidder, COUNT(*) FROM bids GROUP BY bidder;
