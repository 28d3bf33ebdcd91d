-- Kafka sinks with Flink's key and value formats: the tutorial's text key and value (raw),
-- and CSV values keyed by 'key.fields' on a plain (insert-only) Kafka sink.
CREATE TABLE bids (auction BIGINT, price BIGINT, bidder STRING) WITH ('connector' = 'kafka', 'topic' = 'bids', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE counts (bidder STRING, n STRING, PRIMARY KEY (bidder) NOT ENFORCED) WITH ('connector' = 'upsert-kafka', 'topic' = 'counts', 'properties.bootstrap.servers' = 'b:9092', 'key.format' = 'raw', 'value.format' = 'raw', 'value.fields-include' = 'EXCEPT_KEY');
CREATE TABLE priced (bidder STRING, price BIGINT) WITH ('connector' = 'kafka', 'topic' = 'priced', 'properties.bootstrap.servers' = 'b:9092', 'key.fields' = 'bidder', 'key.format' = 'raw', 'format' = 'csv');
INSERT INTO counts SELECT bidder, CAST(COUNT(*) AS STRING) FROM bids GROUP BY bidder;
INSERT INTO priced SELECT bidder, price FROM bids WHERE price > 100;
