-- error: UNION column 2 ("page") is STRING on one side and BIGINT on the other
CREATE TABLE clicks (user_id BIGINT, page STRING) WITH ('connector' = 'kafka', 'topic' = 'clicks', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE out1 (a BIGINT, b STRING) WITH ('connector' = 'print');
INSERT INTO out1 SELECT user_id, page FROM clicks UNION ALL SELECT user_id, user_id FROM clicks;
