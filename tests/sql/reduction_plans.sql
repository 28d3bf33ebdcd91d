-- Each aggregate's strategy, as explain prints it: over a source (insert-only), MIN/MAX keep
-- the best value in the difference; over a view of a GROUP BY (which retracts), they are
-- hierarchical and joined back with the accumulable ones by key.
CREATE TABLE pay (`user` STRING, amount BIGINT, region STRING) WITH ('connector' = 'kafka', 'topic' = 'in', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE per_region (region STRING, users BIGINT, biggest BIGINT, smallest BIGINT, total BIGINT, distinct_totals BIGINT, mean DOUBLE) WITH ('connector' = 'print');
CREATE VIEW per_user AS SELECT `user`, region, SUM(amount) AS total, MIN(amount) AS lo FROM pay GROUP BY `user`, region;
INSERT INTO per_region SELECT region, COUNT(*), MAX(total), MIN(lo), SUM(total), COUNT(DISTINCT total), AVG(DISTINCT total)
FROM per_user GROUP BY region;
