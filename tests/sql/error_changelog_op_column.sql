-- error: column "op" of sink "o" has the name of the field "op"
CREATE TABLE t (k STRING, v BIGINT) WITH ('connector' = 'kafka', 'topic' = 't', 'properties.bootstrap.servers' = 'localhost:9092', 'format' = 'json');
CREATE TABLE o (k STRING, op STRING) WITH ('connector' = 'kafka', 'topic' = 'o',
  'properties.bootstrap.servers' = 'localhost:9092', 'sink.mode' = 'changelog');
INSERT INTO o SELECT k, k FROM t;
