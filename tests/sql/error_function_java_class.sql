-- error: CREATE FUNCTION ... AS 'class' names a Java class
CREATE TABLE t (s STRING, n BIGINT) WITH ('connector' = 'kafka', 'topic' = 't', 'properties.bootstrap.servers' = 'localhost:9092', 'format' = 'json');
CREATE FUNCTION count_char AS 'com.github.nexmark.flink.udf.CountChar';
CREATE TABLE o (n BIGINT) WITH ('connector' = 'print');
INSERT INTO o SELECT count_char(s, 'c') FROM t;
