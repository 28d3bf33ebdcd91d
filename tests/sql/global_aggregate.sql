CREATE TABLE words (value STRING, ts TIMESTAMP(3) METADATA FROM 'timestamp') WITH ('connector' = 'kafka', 'topic' = 'in', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'raw', 'scan.bounded.mode' = 'latest-offset', 'format.bad-records' = 'dead-letter', 'format.dead-letter.topic' = 'dlq');
CREATE TABLE total (n BIGINT, latest TIMESTAMP) WITH ('connector' = 'print');
INSERT INTO total SELECT COUNT(*), MAX(ts) FROM words;
