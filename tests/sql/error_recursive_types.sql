-- error: the column types of recursive "p" cannot be told from its query
CREATE TABLE edges (src BIGINT, dst BIGINT) WITH ('connector' = 'kafka', 'topic' = 'edges', 'properties.bootstrap.servers' = 'localhost:9092', 'format' = 'csv');
CREATE TABLE out (node BIGINT, depth BIGINT) WITH ('connector' = 'print');
INSERT INTO out WITH RECURSIVE p (node, depth) AS (
  SELECT node, MIN(depth) FROM (SELECT src AS node, 0 AS depth FROM edges WHERE src = 0
    UNION ALL SELECT e.dst, p.depth + 1 FROM p JOIN edges AS e ON e.src = p.node) AS s
  GROUP BY node)
SELECT * FROM p;
