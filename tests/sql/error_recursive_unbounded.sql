-- error: column "depth" of recursive "p" changes on every step and nothing bounds it
CREATE TABLE edges (src BIGINT, dst BIGINT) WITH ('connector' = 'kafka', 'topic' = 'edges', 'properties.bootstrap.servers' = 'localhost:9092', 'format' = 'csv');
CREATE TABLE out (node BIGINT, depth BIGINT) WITH ('connector' = 'print');
INSERT INTO out WITH RECURSIVE p AS (
  SELECT src AS node, 0 AS depth FROM edges WHERE src = 0
  UNION SELECT e.dst, p.depth + 1 FROM p JOIN edges AS e ON e.src = p.node)
SELECT * FROM p;
