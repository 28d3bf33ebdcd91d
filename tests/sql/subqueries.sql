-- Subqueries in WHERE: IN and EXISTS become semi-joins, NOT EXISTS an anti-join, NOT IN an
-- anti-join with SQL's NULL rules (a global count of the subquery's rows and non-NULL values).
-- A correlated EXISTS: its equality with the outer row is a key, its other outer term a
-- residual, and its own term filters its rows first.
CREATE TABLE bids (auction BIGINT, bidder BIGINT, price BIGINT) WITH ('connector' = 'kafka', 'topic' = 'bids', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE auctions (id BIGINT, seller BIGINT, reserve BIGINT, category BIGINT) WITH ('connector' = 'kafka', 'topic' = 'auctions', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE blocked (bidder BIGINT) WITH ('connector' = 'kafka', 'topic' = 'blocked', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE out1 (auction BIGINT, bidder BIGINT, price BIGINT) WITH ('connector' = 'print');
CREATE TABLE out2 (auction BIGINT, bidder BIGINT, price BIGINT) WITH ('connector' = 'print');
CREATE TABLE out3 (id BIGINT) WITH ('connector' = 'print');

INSERT INTO out1 SELECT * FROM bids
WHERE auction IN (SELECT id FROM auctions WHERE category = 10) AND bidder NOT IN (SELECT bidder FROM blocked);

INSERT INTO out2 SELECT * FROM bids b
WHERE EXISTS (SELECT * FROM auctions a WHERE a.id = b.auction AND b.price >= a.reserve AND a.category <> 3);

INSERT INTO out3 SELECT id FROM auctions a WHERE NOT EXISTS (SELECT 1 FROM bids WHERE bids.auction = a.id);
