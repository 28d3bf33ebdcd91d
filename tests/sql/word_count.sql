CREATE TABLE words (value STRING) WITH ('connector' = 'kafka', 'topic' = 'in', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'raw', 'scan.startup.mode' = 'earliest-offset');
CREATE TABLE counts (value STRING, n BIGINT, PRIMARY KEY (value) NOT ENFORCED) WITH ('connector' = 'kafka', 'topic' = 'out', 'properties.bootstrap.servers' = 'b');
INSERT INTO counts SELECT value, COUNT(*) AS n FROM words GROUP BY value;
