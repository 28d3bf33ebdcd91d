-- error: column "amount" must appear in the GROUP BY clause
CREATE TABLE pay (region STRING, amount BIGINT) WITH ('connector' = 'kafka', 'topic' = 'in', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE out2 (r STRING, a BIGINT) WITH ('connector' = 'print');
INSERT INTO out2 SELECT region, amount FROM pay GROUP BY region;
