-- Paths of at most three steps from node 0 (UNION ALL: bounded by the depth filter), and
-- transitive closure (UNION, a join of the relation with itself).
CREATE TABLE edges (src BIGINT, dst BIGINT) WITH ('connector' = 'kafka', 'topic' = 'edges', 'properties.bootstrap.servers' = 'localhost:9092', 'format' = 'csv');
CREATE TABLE out (node BIGINT, depth BIGINT) WITH ('connector' = 'print');
CREATE TABLE pairs (a BIGINT, b BIGINT) WITH ('connector' = 'print');
INSERT INTO out WITH RECURSIVE p AS (
  SELECT src AS node, 0 AS depth FROM edges WHERE src = 0
  UNION ALL SELECT e.dst, p.depth + 1 FROM p JOIN edges AS e ON e.src = p.node WHERE p.depth < 3)
SELECT * FROM p;
INSERT INTO pairs WITH RECURSIVE tc (a, b) AS (
  SELECT src, dst FROM edges
  UNION SELECT x.a, y.b FROM tc AS x JOIN tc AS y ON x.b = y.a)
SELECT a, b FROM tc;
