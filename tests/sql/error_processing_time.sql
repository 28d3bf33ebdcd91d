-- error: CURRENT_TIMESTAMP reads the clock
CREATE TABLE events (url STRING) WITH ('connector' = 'kafka', 'topic' = 'events', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE out1 (a STRING, t TIMESTAMP(3)) WITH ('connector' = 'print');
INSERT INTO out1 SELECT url, CURRENT_TIMESTAMP() FROM events;
