-- Joins as payments arrive epoch by epoch: an outer join's padded row is retracted in the
-- epoch its first match comes; a residual condition that fails leaves both rows padded; NULL
-- keys never match; IN and NOT IN change as the subquery grows.
CREATE TABLE orders (id BIGINT, customer STRING, amount BIGINT) WITH ('connector' = 'kafka', 'topic' = 'orders', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE payments (order_id BIGINT, paid BIGINT) WITH ('connector' = 'kafka', 'topic' = 'payments', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE left_join (id BIGINT, amount BIGINT, paid BIGINT) WITH ('connector' = 'print');
CREATE TABLE full_join (id BIGINT, amount BIGINT, order_id BIGINT, paid BIGINT) WITH ('connector' = 'print');
CREATE TABLE paid_orders (id BIGINT) WITH ('connector' = 'print');
CREATE TABLE odd_amounts (id BIGINT, amount BIGINT) WITH ('connector' = 'print');

INSERT INTO left_join SELECT o.id, o.amount, p.paid FROM orders o LEFT JOIN payments p ON o.id = p.order_id;
INSERT INTO full_join SELECT o.id, o.amount, p.order_id, p.paid FROM orders o FULL JOIN payments p ON o.id = p.order_id AND p.paid >= o.amount;
INSERT INTO paid_orders SELECT id FROM orders WHERE id IN (SELECT order_id FROM payments);
INSERT INTO odd_amounts SELECT id, amount FROM orders WHERE amount NOT IN (SELECT paid FROM payments);
