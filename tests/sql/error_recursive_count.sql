-- error: reads itself under COUNT
CREATE TABLE edges (src BIGINT, dst BIGINT) WITH ('connector' = 'kafka', 'topic' = 'edges', 'properties.bootstrap.servers' = 'localhost:9092', 'format' = 'csv');
CREATE TABLE out (node BIGINT, depth BIGINT) WITH ('connector' = 'print');
INSERT INTO out WITH RECURSIVE p (node, depth) AS (
  SELECT src, 0 FROM edges WHERE src = 0
  UNION SELECT e.dst, COUNT(*) FROM p JOIN edges AS e ON e.src = p.node GROUP BY e.dst)
SELECT * FROM p;
