-- error: 4:56: ROW_NUMBER() needs ORDER BY in its OVER clause
CREATE TABLE bids (auction BIGINT, price BIGINT) WITH ('connector' = 'kafka', 'topic' = 'bids', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE out1 (auction BIGINT, price BIGINT) WITH ('connector' = 'print');
INSERT INTO out1 SELECT auction, price FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY auction) AS rn FROM bids) WHERE rn = 1;
