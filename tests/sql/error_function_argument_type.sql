-- error: SPLIT_INDEX() argument 3 must be BIGINT, not STRING
CREATE TABLE events (url STRING) WITH ('connector' = 'kafka', 'topic' = 'events', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE out1 (a STRING) WITH ('connector' = 'print');
INSERT INTO out1 SELECT SPLIT_INDEX(url, '/', '2') FROM events;
