-- error: it goes on the right of a JOIN
CREATE TABLE rates (c STRING, region STRING, rate BIGINT, ts TIMESTAMP(3), PRIMARY KEY (c, region) NOT ENFORCED, WATERMARK FOR ts AS ts) WITH ('connector' = 'kafka', 'topic' = 'r', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE out1 (id BIGINT, rate BIGINT) WITH ('connector' = 'print');
INSERT INTO out1 SELECT 1, r.rate FROM rates FOR SYSTEM_TIME AS OF r.ts r;
