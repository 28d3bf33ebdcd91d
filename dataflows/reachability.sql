-- Reachability over a stream of edge changes: every node reachable from node 0 with its least
-- number of hops, kept exact as edges come and go. The same output as the Rust example
-- examples/reachability.rs (differential's `iterate` written by hand); here WITH RECURSIVE
-- asks for it and ddflow plans the iteration.
-- Each record of edges_topic is a CSV line `src,dst,change`: 1 adds the edge, -1 removes it.
CREATE TABLE edges (src BIGINT, dst BIGINT, change INT) WITH (
  'connector' = 'kafka',
  'topic' = 'edges_topic',
  'properties.bootstrap.servers' = 'localhost:9092',
  'format' = 'csv',
  'scan.startup.mode' = 'earliest-offset'
);

CREATE TABLE reachable (node BIGINT, hops BIGINT) WITH (
  'connector' = 'filesystem',
  'path' = 'reachable.jsonl',
  'format' = 'json'
);

-- An edge exists while its additions outnumber its removals.
CREATE VIEW live_edges AS
  SELECT src, dst FROM edges GROUP BY src, dst HAVING SUM(change) > 0;

-- The least hops to each node: a step from every reached node over its live edges, and per
-- node the least. A least over steps that only add hops settles even around cycles; ddflow
-- refuses a recursion that would not (a depth that grows unbounded, UNION ALL around a cycle).
INSERT INTO reachable
WITH RECURSIVE hops (node BIGINT, hops BIGINT) AS (
  SELECT node, MIN(hops) FROM (
    SELECT src AS node, 0 AS hops FROM live_edges WHERE src = 0
    UNION ALL
    SELECT e.dst, h.hops + 1 FROM hops AS h JOIN live_edges AS e ON e.src = h.node
  ) AS steps
  GROUP BY node
)
SELECT node, hops FROM hops;
