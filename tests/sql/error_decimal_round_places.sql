-- error: ROUND of a DECIMAL takes a constant number of places
CREATE TABLE t (price DECIMAL(10, 2), d BIGINT) WITH ('connector' = 'kafka', 'topic' = 'in', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE o (price DECIMAL(10, 2)) WITH ('connector' = 'print');
INSERT INTO o SELECT ROUND(price, d) FROM t;
