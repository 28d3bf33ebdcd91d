-- error: reads itself under NOT EXISTS / NOT IN
CREATE TABLE edges (src BIGINT, dst BIGINT) WITH ('connector' = 'kafka', 'topic' = 'edges', 'properties.bootstrap.servers' = 'localhost:9092', 'format' = 'csv');
CREATE TABLE out (node BIGINT, depth BIGINT) WITH ('connector' = 'print');
INSERT INTO out WITH RECURSIVE p AS (
  SELECT src AS node, 0 AS depth FROM edges WHERE src = 0
  UNION SELECT e.dst, 1 FROM edges AS e WHERE NOT EXISTS (SELECT * FROM p WHERE p.node = e.dst))
SELECT * FROM p;
