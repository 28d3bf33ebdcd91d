-- error: the first part of recursive "p" reads "p" itself
CREATE TABLE edges (src BIGINT, dst BIGINT) WITH ('connector' = 'kafka', 'topic' = 'edges', 'properties.bootstrap.servers' = 'localhost:9092', 'format' = 'csv');
CREATE TABLE out (node BIGINT, depth BIGINT) WITH ('connector' = 'print');
INSERT INTO out WITH RECURSIVE p AS (
  SELECT node, depth FROM p
  UNION SELECT src, 0 FROM edges)
SELECT * FROM p;
