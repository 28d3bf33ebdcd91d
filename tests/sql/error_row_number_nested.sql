-- error: ROW_NUMBER() OVER (...) must be a whole SELECT item
CREATE TABLE bids (auction BIGINT, price BIGINT) WITH ('connector' = 'kafka', 'topic' = 'bids', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE out1 (auction BIGINT, n BIGINT) WITH ('connector' = 'print');
INSERT INTO out1 SELECT auction, n FROM (SELECT auction, ROW_NUMBER() OVER (ORDER BY price) + 1 AS n FROM bids) WHERE n <= 3;
