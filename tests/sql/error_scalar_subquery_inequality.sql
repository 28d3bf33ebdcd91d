-- error: a correlated scalar subquery may name the outer row only in equalities (inner = outer) joined by AND
CREATE TABLE orders (id BIGINT, customer STRING) WITH ('connector' = 'kafka', 'topic' = 'orders', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE payments (order_id BIGINT, paid BIGINT) WITH ('connector' = 'kafka', 'topic' = 'payments', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE o (id BIGINT, n BIGINT) WITH ('connector' = 'print');
INSERT INTO o SELECT id, (SELECT COUNT(*) FROM payments p WHERE p.order_id < orders.id) FROM orders;
