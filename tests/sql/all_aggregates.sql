CREATE TABLE pay (region STRING, amount DOUBLE, `user` STRING) WITH ('connector' = 'kafka', 'topic' = 'in', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'csv', 'csv.field-delimiter' = ';');
CREATE TABLE stats (region STRING, n BIGINT, users BIGINT, total DOUBLE, lo DOUBLE, hi DOUBLE, avg DOUBLE) WITH ('connector' = 'kafka', 'topic' = 's', 'properties.bootstrap.servers' = 'b', 'sink.mode' = 'changelog');
INSERT INTO stats SELECT region, COUNT(*), COUNT(DISTINCT `user`), SUM(amount), MIN(amount), MAX(amount), AVG(amount)
FROM pay GROUP BY region HAVING COUNT(*) > 1 AND SUM(amount) > 10;
