-- error: invalid regular expression
CREATE TABLE events (url STRING) WITH ('connector' = 'kafka', 'topic' = 'events', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE out1 (a BOOLEAN) WITH ('connector' = 'print');
INSERT INTO out1 SELECT REGEXP(url, 'a(b') FROM events;
