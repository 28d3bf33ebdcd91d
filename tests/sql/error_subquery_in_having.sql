-- error: a subquery is supported only in WHERE ([NOT] EXISTS, [NOT] IN, or a scalar (SELECT ...) in a term joined by AND) and as a value in the SELECT list
CREATE TABLE bids (auction BIGINT, price BIGINT) WITH ('connector' = 'kafka', 'topic' = 'bids', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE out1 (auction BIGINT, top BIGINT) WITH ('connector' = 'print');
INSERT INTO out1 SELECT auction, MAX(price) FROM bids GROUP BY auction HAVING MAX(price) > (SELECT AVG(price) FROM bids);
