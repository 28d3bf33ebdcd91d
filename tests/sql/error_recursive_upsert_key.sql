-- error: rows that share (hops) would overwrite each other
CREATE TABLE edges (src BIGINT, dst BIGINT) WITH ('connector' = 'kafka', 'topic' = 'edges', 'properties.bootstrap.servers' = 'localhost:9092', 'format' = 'csv');
-- The least hops per node are unique by node (the recursion's GROUP BY), not by hops.
CREATE TABLE reachable (node BIGINT, hops BIGINT, PRIMARY KEY (hops) NOT ENFORCED) WITH ('connector' = 'upsert-kafka', 'topic' = 'r_out', 'properties.bootstrap.servers' = 'localhost:9092', 'key.format' = 'json', 'value.format' = 'json');
INSERT INTO reachable WITH RECURSIVE h (node BIGINT, hops BIGINT) AS (
  SELECT node, MIN(hops) FROM (
    SELECT src AS node, 0 AS hops FROM edges WHERE src = 0
    UNION ALL SELECT e.dst, h.hops + 1 FROM h JOIN edges AS e ON e.src = h.node) AS s
  GROUP BY node)
SELECT node, hops FROM h;
