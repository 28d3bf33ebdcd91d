-- error: FOR SYSTEM_TIME AS OF takes a TIMESTAMP column of the join's left side, not BIGINT
CREATE TABLE orders (id BIGINT, c STRING, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH ('connector' = 'kafka', 'topic' = 'o', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE rates (c STRING, region STRING, rate BIGINT, ts TIMESTAMP(3), PRIMARY KEY (c, region) NOT ENFORCED, WATERMARK FOR ts AS ts) WITH ('connector' = 'kafka', 'topic' = 'r', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE out1 (id BIGINT, rate BIGINT) WITH ('connector' = 'print');
INSERT INTO out1 SELECT o.id, r.rate FROM orders o JOIN rates FOR SYSTEM_TIME AS OF o.id r ON o.c = r.c AND o.c = r.region;
