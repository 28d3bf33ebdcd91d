-- error: 4:34: ROW_NUMBER() needs a filter on it (rownum <= N, or = 1) in the query that reads it
CREATE TABLE bids (auction BIGINT, price BIGINT) WITH ('connector' = 'kafka', 'topic' = 'bids', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE out1 (auction BIGINT, n BIGINT) WITH ('connector' = 'print');
INSERT INTO out1 SELECT auction, ROW_NUMBER() OVER (PARTITION BY auction ORDER BY price DESC) FROM bids;
