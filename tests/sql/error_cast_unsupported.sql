-- error: CAST from TIMESTAMP to BOOLEAN is not supported
CREATE TABLE t (ts TIMESTAMP(3)) WITH ('connector' = 'kafka', 'topic' = 'in', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE o (b BOOLEAN) WITH ('connector' = 'print');
INSERT INTO o SELECT CAST(ts AS BOOLEAN) FROM t;
