-- A temporal join with a static file table is a join with it (as of processing time here;
-- Nexmark q13's form): the file's one version holds at every time.
SET 'processing-time' = 'epoch';
CREATE TABLE bids (auction BIGINT, price BIGINT) WITH ('connector' = 'kafka', 'topic' = 'b', 'properties.bootstrap.servers' = 'localhost:9092', 'format' = 'json');
CREATE TABLE side (`key` BIGINT, `value` STRING) WITH ('connector' = 'filesystem', 'path' = '/data/side.csv', 'format' = 'csv');
CREATE TABLE o (auction BIGINT, v STRING) WITH ('connector' = 'print');
INSERT INTO o SELECT B.auction, S.`value` FROM (SELECT *, PROCTIME() AS p FROM bids) B
  JOIN side FOR SYSTEM_TIME AS OF B.p AS S ON B.auction % 100 = S.`key`;
