-- error: ddflow would read what it writes, forever
CREATE TABLE t (v STRING) WITH ('connector' = 'kafka', 'topic' = 't', 'properties.bootstrap.servers' = 'localhost:9092',
  'format' = 'raw', 'format.bad-records' = 'dead-letter', 'format.dead-letter.topic' = 't');
CREATE TABLE o (v STRING) WITH ('connector' = 'print');
INSERT INTO o SELECT v FROM t;
