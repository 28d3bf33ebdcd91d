-- error: has no INSERT INTO statement
CREATE TABLE words (value STRING) WITH ('connector' = 'kafka', 'topic' = 'in', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'raw');
