-- error: table "t" has format 'csv', which cannot hold the ARRAY column "tags" (use 'format' = 'json')
CREATE TABLE t (id BIGINT, tags ARRAY<STRING>) WITH ('connector' = 'kafka', 'topic' = 'in', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'csv');
CREATE TABLE o (id BIGINT) WITH ('connector' = 'print');
INSERT INTO o SELECT id FROM t;
