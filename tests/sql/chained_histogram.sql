CREATE TABLE words (value STRING) WITH ('connector' = 'kafka', 'topic' = 'in', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'raw');
CREATE TABLE hist (n BIGINT, words BIGINT) WITH ('connector' = 'print', 'print.mode' = 'complete');
CREATE VIEW counts AS SELECT value, COUNT(*) AS n FROM words GROUP BY value;
INSERT INTO hist SELECT n, COUNT(*) AS words FROM counts GROUP BY n;
