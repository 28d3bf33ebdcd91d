-- A DECIMAL that does not fit its column is an error naming the value (never rounded or
-- cut): the first epoch is written, the second fails.
CREATE TABLE t (price DECIMAL(10, 2)) WITH ('connector' = 'kafka', 'topic' = 't', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE narrow (cents DECIMAL(5, 0)) WITH ('connector' = 'print');
INSERT INTO narrow SELECT price * 100 FROM t;
