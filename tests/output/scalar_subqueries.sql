-- Scalar subqueries, decorrelated into joins: a correlated COUNT is 0 (and COUNT(*) + 10 is
-- 10) for an order with no payment, a correlated SUM NULL; an uncorrelated AVG in WHERE
-- moves as orders arrive; a lookup by a view's key.
CREATE TABLE orders (id BIGINT, customer STRING, amount BIGINT) WITH ('connector' = 'kafka', 'topic' = 'orders', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE payments (order_id BIGINT, paid BIGINT) WITH ('connector' = 'kafka', 'topic' = 'payments', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE per_order (id BIGINT, n BIGINT, paid BIGINT, n10 BIGINT) WITH ('connector' = 'print');
CREATE TABLE big_orders (id BIGINT, amount BIGINT) WITH ('connector' = 'print');
CREATE TABLE lookup (id BIGINT, customer_orders BIGINT) WITH ('connector' = 'print');
CREATE VIEW customers AS SELECT customer, COUNT(*) AS orders FROM orders GROUP BY customer;

INSERT INTO per_order SELECT id,
  (SELECT COUNT(*) FROM payments p WHERE p.order_id = o.id),
  (SELECT SUM(paid) FROM payments p WHERE p.order_id = o.id),
  (SELECT COUNT(*) + 10 FROM payments p WHERE o.id = p.order_id)
FROM orders o;

INSERT INTO big_orders SELECT id, amount FROM orders WHERE amount > (SELECT AVG(amount) FROM orders);

INSERT INTO lookup SELECT o.id, (SELECT orders FROM customers c WHERE c.customer = o.customer) FROM orders o;
