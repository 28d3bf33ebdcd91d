-- error: needs a PRIMARY KEY
CREATE TABLE words (value STRING) WITH ('connector' = 'kafka', 'topic' = 'in', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'raw');
CREATE TABLE out3 (a STRING, n BIGINT) WITH ('connector' = 'upsert-kafka', 'topic' = 'o', 'properties.bootstrap.servers' = 'b');
INSERT INTO out3 SELECT value, COUNT(*) FROM words GROUP BY value;
