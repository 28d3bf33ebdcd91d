-- JOIN ... USING (c): one merged column c (first in SELECT *; for a FULL join the side that
-- is not NULL), with o.c and p.c still reachable by their qualified names.
CREATE TABLE orders (id BIGINT, amount BIGINT) WITH ('connector' = 'kafka', 'topic' = 'orders', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE payments (id BIGINT, paid BIGINT) WITH ('connector' = 'kafka', 'topic' = 'payments', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE inner_star (id BIGINT, amount BIGINT, paid BIGINT) WITH ('connector' = 'print');
CREATE TABLE full_using (id BIGINT, order_id BIGINT, payment_id BIGINT, amount BIGINT, paid BIGINT) WITH ('connector' = 'print');
INSERT INTO inner_star SELECT * FROM orders JOIN payments USING (id);
INSERT INTO full_using SELECT id, o.id, p.id, amount, paid FROM orders o FULL JOIN payments p USING (id);
