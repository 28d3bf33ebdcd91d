-- LIKE with an escape character, IN lists, and a global aggregate (one row even over no input).
CREATE TABLE t (k STRING, v BIGINT) WITH ('connector' = 'kafka', 'topic' = 't', 'properties.bootstrap.servers' = 'localhost:9092', 'format' = 'json');
CREATE TABLE o (n BIGINT, s BIGINT) WITH ('connector' = 'print');
INSERT INTO o SELECT COUNT(*), SUM(v) FROM t WHERE k LIKE '100!%%' ESCAPE '!' AND v IN (1, 2, 3, 4, 5);
