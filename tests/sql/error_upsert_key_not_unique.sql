-- error: declare PRIMARY KEY (k, v) NOT ENFORCED
CREATE TABLE t (k STRING, v BIGINT) WITH ('connector' = 'kafka', 'topic' = 't', 'properties.bootstrap.servers' = 'localhost:9092', 'format' = 'json');
CREATE TABLE o (k STRING, v BIGINT, n BIGINT, PRIMARY KEY (k) NOT ENFORCED) WITH (
  'connector' = 'kafka', 'topic' = 'o', 'properties.bootstrap.servers' = 'localhost:9092');
INSERT INTO o SELECT k, v, COUNT(*) FROM t GROUP BY k, v;
