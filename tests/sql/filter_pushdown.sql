-- WHERE terms that read one side of a join move below it, where the join's kind lets them:
-- both sides of an inner join (and its ON terms of one side); the left side of a LEFT, semi-
-- and anti-join; the right side of a RIGHT join; nothing out of a FULL join or into a
-- temporal join. A term over both sides, or one that can fail (a division), stays above the
-- join; through a projection, one that can fail goes on top of the filter below, not into it.
-- An ON term over one side whose arithmetic is DOUBLE (never fails) moves too.
CREATE TABLE a (id BIGINT, x BIGINT, s STRING, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('connector' = 'kafka', 'topic' = 'a', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE b (id BIGINT, y BIGINT, z DOUBLE, PRIMARY KEY (id) NOT ENFORCED, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('connector' = 'kafka', 'topic' = 'b', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE out1 (id BIGINT, x BIGINT, y BIGINT) WITH ('connector' = 'print');
CREATE TABLE out2 (id BIGINT, x BIGINT, y BIGINT) WITH ('connector' = 'print');
CREATE TABLE out3 (id BIGINT, x BIGINT, y BIGINT) WITH ('connector' = 'print');
CREATE TABLE out4 (id BIGINT, x BIGINT, y BIGINT) WITH ('connector' = 'print');
CREATE TABLE out5 (id BIGINT, x BIGINT, y BIGINT) WITH ('connector' = 'print');
CREATE TABLE out6 (id BIGINT, x BIGINT, y BIGINT) WITH ('connector' = 'print');
INSERT INTO out1 SELECT a.id, a.x, b.y FROM a JOIN b ON a.id = b.id AND b.y > 0
  WHERE a.s = 'k' AND b.y < 100 AND a.x < b.y AND 10 / a.x > 1;
INSERT INTO out2 SELECT a.id, a.x, b.y FROM a LEFT JOIN b ON a.id = b.id
  WHERE a.x > 1 AND b.y IS NULL;
INSERT INTO out3 SELECT a.id, a.x, b.y FROM a RIGHT JOIN b ON a.id = b.id
  WHERE a.x > 1 AND b.y > 2;
INSERT INTO out4 SELECT a.id, a.x, b.y FROM a FULL JOIN b ON a.id = b.id
  WHERE a.x > 1 AND b.y > 2;
INSERT INTO out5 SELECT a.id, a.x, a.x FROM a WHERE a.x > 3 AND EXISTS (SELECT * FROM b WHERE b.id = a.id);
INSERT INTO out6 SELECT a.id, a.x, b.y FROM a JOIN b FOR SYSTEM_TIME AS OF a.ts ON a.id = b.id
  WHERE a.x > 1 AND b.y > 2;
CREATE TABLE out7 (id BIGINT, x BIGINT, y BIGINT) WITH ('connector' = 'print');
INSERT INTO out7 SELECT id, q, q FROM (SELECT id, x AS q FROM a WHERE s = 'k') AS v
  WHERE 10 / q > 1 AND q > 0;
CREATE TABLE out8 (id BIGINT, x BIGINT, y BIGINT) WITH ('connector' = 'print');
INSERT INTO out8 SELECT a.id, a.x, b.y FROM a JOIN b ON a.id = b.id AND b.z / 2.0 > 1;
