-- error: invalid escape sequence '!b' in LIKE pattern 'a!b'
CREATE TABLE t (k STRING, v BIGINT) WITH ('connector' = 'kafka', 'topic' = 't', 'properties.bootstrap.servers' = 'localhost:9092', 'format' = 'json');
CREATE TABLE o (k STRING) WITH ('connector' = 'print');
INSERT INTO o SELECT k FROM t WHERE k LIKE 'a!b' ESCAPE '!';
