-- Joins: keys from ON and from WHERE, residual conditions, outer joins, a self-join, a cross
-- join, and an upsert sink keyed by the left side of a many-to-one join.
CREATE TABLE orders (id BIGINT, customer BIGINT, amount DOUBLE, ts TIMESTAMP(3)) WITH ('connector' = 'kafka', 'topic' = 'orders', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE payments (order_id BIGINT, paid DOUBLE) WITH ('connector' = 'kafka', 'topic' = 'payments', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE customers (id BIGINT, name STRING, country STRING) WITH ('connector' = 'kafka', 'topic' = 'customers', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE settled (order_id BIGINT, customer STRING, amount DOUBLE, paid DOUBLE, PRIMARY KEY (order_id) NOT ENFORCED) WITH ('connector' = 'upsert-kafka', 'topic' = 'settled', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE unpaid (id BIGINT, amount DOUBLE, paid DOUBLE) WITH ('connector' = 'print');
CREATE TABLE pairs (a BIGINT, b BIGINT) WITH ('connector' = 'print');
CREATE TABLE everything (id BIGINT, cid BIGINT, name STRING, country STRING) WITH ('connector' = 'print');

-- One customer per order: the order id alone keys the upsert sink.
CREATE VIEW latest_customer AS SELECT id, MAX(name) AS name FROM customers GROUP BY id;
CREATE VIEW paid AS SELECT order_id, SUM(paid) AS paid FROM payments GROUP BY order_id;
CREATE VIEW order_totals AS SELECT id, MAX(customer) AS customer, SUM(amount) AS amount FROM orders GROUP BY id;
INSERT INTO settled
SELECT o.id, c.name, o.amount, p.paid
FROM order_totals o
JOIN latest_customer c ON o.customer = c.id
LEFT JOIN paid p ON p.order_id = o.id AND p.paid >= o.amount;

INSERT INTO unpaid SELECT o.id, o.amount, p.paid FROM orders AS o FULL OUTER JOIN paid AS p ON o.id = p.order_id WHERE o.amount > 0;

INSERT INTO pairs SELECT a.id, b.id FROM orders a, orders b WHERE a.customer = b.customer AND a.id < b.id;

INSERT INTO everything SELECT o.id, c.* FROM orders o RIGHT JOIN customers c ON o.customer = c.id AND c.country = 'NL' CROSS JOIN (SELECT COUNT(*) AS n FROM payments) AS total;
