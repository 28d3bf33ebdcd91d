-- error: error_syntax.sql:3:
CREATE TABLE words (value STRING) WITH ('connector' = 'kafka', 'topic' = 'in', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'raw');
INSERT INTO out1 SELEC value FROM words;
