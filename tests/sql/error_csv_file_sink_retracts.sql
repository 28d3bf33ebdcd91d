-- error: is a CSV file, which takes only inserts, but the query writing it also retracts rows
CREATE TABLE bids (auction BIGINT, price BIGINT, bidder STRING, ts TIMESTAMP(3)) WITH ('connector' = 'kafka', 'topic' = 'bids', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE out1 (auction BIGINT, n BIGINT) WITH ('connector' = 'filesystem', 'path' = '/tmp/o.csv', 'format' = 'csv');
INSERT INTO out1 SELECT auction, COUNT(*) FROM bids GROUP BY auction;
