-- A quoted column name (a reserved word) as the upsert key: the key names the column.
CREATE TABLE payments (`user` STRING, amount DOUBLE) WITH (
  'connector' = 'kafka', 'topic' = 'payments', 'format' = 'json',
  'properties.bootstrap.servers' = 'localhost:9092'
);
CREATE TABLE totals (`user` STRING, total DOUBLE, PRIMARY KEY (`user`) NOT ENFORCED) WITH (
  'connector' = 'kafka', 'topic' = 'totals', 'format' = 'json',
  'properties.bootstrap.servers' = 'localhost:9092'
);
INSERT INTO totals SELECT `user`, SUM(amount) AS total FROM payments GROUP BY `user`;
