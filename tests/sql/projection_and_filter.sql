CREATE TABLE pay (`user` STRING, amount DOUBLE, qty BIGINT, off BIGINT METADATA FROM 'offset' VIRTUAL) WITH ('connector' = 'kafka', 'topic' = 'in', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json', 'scan.startup.mode' = 'specific-offsets', 'scan.startup.specific-offsets' = 'partition:0,offset:5');
CREATE TABLE out4 (who STRING, cost DOUBLE, big BOOLEAN, o BIGINT) WITH ('connector' = 'filesystem', 'path' = '/tmp/x.jsonl', 'format' = 'json');
INSERT INTO out4 SELECT UPPER(SUBSTRING(`user`, 1, 3)) || '!' AS who, CAST(qty AS DOUBLE) * amount + 1 AS cost,
  CASE WHEN amount > 100 THEN TRUE ELSE FALSE END AS big, off AS o
FROM pay WHERE `user` LIKE 'a%' AND qty IN (1, 2, 3) AND amount BETWEEN 0 AND 1000;
