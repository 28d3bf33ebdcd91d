-- error: column "id" is ambiguous
CREATE TABLE orders (id BIGINT, customer BIGINT) WITH ('connector' = 'kafka', 'topic' = 'orders', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE customers (id BIGINT, name STRING) WITH ('connector' = 'kafka', 'topic' = 'customers', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE out1 (id BIGINT, name STRING) WITH ('connector' = 'print');
INSERT INTO out1 SELECT id, name FROM orders o JOIN customers c ON o.customer = c.id;
