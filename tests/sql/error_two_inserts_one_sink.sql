-- error: table "o" is already written by the INSERT INTO at 5:13
CREATE TABLE t (k STRING, v BIGINT) WITH ('connector' = 'kafka', 'topic' = 't', 'properties.bootstrap.servers' = 'localhost:9092', 'format' = 'json');
CREATE TABLE o (k STRING, n BIGINT, PRIMARY KEY (k) NOT ENFORCED) WITH (
  'connector' = 'kafka', 'topic' = 'o', 'properties.bootstrap.servers' = 'localhost:9092');
INSERT INTO o SELECT k, COUNT(*) FROM t GROUP BY k;
INSERT INTO o SELECT k, SUM(v) FROM t GROUP BY k;
