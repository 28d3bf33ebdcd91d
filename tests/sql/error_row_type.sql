-- error: 2:29: ROW field "name" needs a name and a type
CREATE TABLE t (k BIGINT, p ROW<id BIGINT, name>) WITH ('connector' = 'kafka', 'topic' = 't', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE o (k BIGINT) WITH ('connector' = 'print');
INSERT INTO o SELECT k FROM t;
