-- error: is both read and written
CREATE TABLE words (value STRING, n BIGINT) WITH ('connector' = 'kafka', 'topic' = 'in', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
INSERT INTO words SELECT value, COUNT(*) FROM words GROUP BY value;
