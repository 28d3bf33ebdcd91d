-- FILTER (WHERE ...) on aggregates, as Nexmark q15 writes it: the condition moves into the
-- argument (COUNT(*) FILTER (WHERE c) counts CASE WHEN c THEN 1 END), so every reduction plan
-- still applies.
CREATE TABLE bid (auction BIGINT, bidder BIGINT, price BIGINT, channel STRING) WITH ('connector' = 'kafka', 'topic' = 'bids', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE out1 (channel STRING, total_bids BIGINT, rank1_bids BIGINT, total_bidders BIGINT, rank1_bidders BIGINT, cheap_max BIGINT) WITH ('connector' = 'print');
INSERT INTO out1 SELECT channel,
  COUNT(*), COUNT(*) FILTER (WHERE price < 10000),
  COUNT(DISTINCT bidder), COUNT(DISTINCT bidder) FILTER (WHERE price < 10000),
  MAX(price) FILTER (WHERE price < 10000)
FROM bid GROUP BY channel;
