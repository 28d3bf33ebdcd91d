-- error: rows that share (hops) would overwrite each other
CREATE TABLE edges (src BIGINT, dst BIGINT, change INT) WITH (
  'connector' = 'kafka',
  'topic' = 'edges1m',
  'properties.bootstrap.servers' = 'localhost:9092',
  'format' = 'csv',
  'scan.startup.mode' = 'earliest-offset'
);

CREATE TABLE reachable (node BIGINT, hops BIGINT, PRIMARY KEY (hops) NOT ENFORCED) WITH ('connector' = 'upsert-kafka', 'topic' = 'r_out', 'properties.bootstrap.servers' = 'localhost:9092', 'key.format' = 'json', 'value.format' = 'json');

CREATE VIEW live_edges AS
  SELECT src, dst FROM edges GROUP BY src, dst HAVING SUM(change) > 0;

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

