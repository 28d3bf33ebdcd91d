-- error: column "depth" of recursive "p" changes on every step and nothing bounds it
CREATE TABLE edges (src BIGINT, dst BIGINT) WITH ('connector' = 'kafka', 'topic' = 'edges', 'properties.bootstrap.servers' = 'localhost:9092', 'format' = 'csv');
CREATE TABLE out (node BIGINT, depth BIGINT) WITH ('connector' = 'print');
-- The bound is on one occurrence of p, the growing column comes from the other.
INSERT INTO out WITH RECURSIVE p AS (
  SELECT src AS node, 0 AS depth FROM edges
  UNION SELECT b.node, b.depth + 1 FROM p AS a JOIN p AS b ON a.node = b.node WHERE a.depth < 3)
SELECT * FROM p;
