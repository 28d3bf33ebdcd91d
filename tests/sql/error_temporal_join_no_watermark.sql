-- error: needs a WATERMARK: its rowtime is when each version becomes valid
CREATE TABLE orders (id BIGINT, c STRING, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH ('connector' = 'kafka', 'topic' = 'o', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE rates (c STRING, rate BIGINT, ts TIMESTAMP(3), PRIMARY KEY (c) NOT ENFORCED) WITH ('connector' = 'kafka', 'topic' = 'r', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE out1 (id BIGINT, rate BIGINT) WITH ('connector' = 'print');
INSERT INTO out1 SELECT o.id, r.rate FROM orders o JOIN rates FOR SYSTEM_TIME AS OF o.ts r ON o.c = r.c;
