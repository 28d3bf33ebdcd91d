-- Per-region payment statistics from JSON records (as `ddflow gen --shape json` writes them):
-- counts, distinct users, sums, extremes and averages, for regions with more than 10 payments,
-- kept in an upsert topic keyed by region.
CREATE TABLE payments (
  `user` STRING,
  amount DOUBLE,
  region STRING,
  part INT METADATA FROM 'partition' VIRTUAL
) WITH (
  'connector' = 'kafka',
  'topic' = 'payments',
  'properties.bootstrap.servers' = 'localhost:9092',
  'format' = 'json',
  'format.bad-records' = 'skip',
  'scan.startup.mode' = 'earliest-offset'
);

CREATE TABLE region_stats (
  region STRING, payments BIGINT, users BIGINT, total DOUBLE, smallest DOUBLE, largest DOUBLE,
  average DOUBLE, partitions BIGINT,
  PRIMARY KEY (region) NOT ENFORCED
) WITH (
  'connector' = 'kafka',
  'topic' = 'region_stats',
  'properties.bootstrap.servers' = 'localhost:9092',
  'format' = 'json'
);

INSERT INTO region_stats
SELECT region, COUNT(*) AS payments, COUNT(DISTINCT `user`) AS users, SUM(amount) AS total,
       MIN(amount) AS smallest, MAX(amount) AS largest, AVG(amount) AS average,
       COUNT(DISTINCT part) AS partitions
FROM payments
WHERE amount > 0 AND region IS NOT NULL
GROUP BY region
HAVING COUNT(*) > 10;
