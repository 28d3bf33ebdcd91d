-- error: invalid type DECIMAL(40,2)
CREATE TABLE t (price DECIMAL(40, 2)) WITH ('connector' = 'kafka', 'topic' = 'in', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE o (price DECIMAL(40, 2)) WITH ('connector' = 'print');
INSERT INTO o SELECT price FROM t;
