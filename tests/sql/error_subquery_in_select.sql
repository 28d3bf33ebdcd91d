-- error: a subquery is supported only as a WHERE condition joined by AND
CREATE TABLE bids (auction BIGINT, price BIGINT) WITH ('connector' = 'kafka', 'topic' = 'bids', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE out1 (auction BIGINT, top BIGINT) WITH ('connector' = 'print');
INSERT INTO out1 SELECT auction, (SELECT MAX(price) FROM bids) FROM bids;
