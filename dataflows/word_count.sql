-- Word count: the classic Spark + Kafka tutorial as a ddflow dataflow.
-- Reads words (one per record) from my_topic, counts them, and keeps the counts in output_topic
-- as an upsert topic keyed by word (a tombstone when a word's count drops to zero).
CREATE TABLE words (value STRING) WITH (
  'connector' = 'kafka',
  'topic' = 'my_topic',
  'properties.bootstrap.servers' = 'localhost:9092',
  'format' = 'raw',
  'scan.startup.mode' = 'earliest-offset'
);

CREATE TABLE word_counts (value STRING, n BIGINT, PRIMARY KEY (value) NOT ENFORCED) WITH (
  'connector' = 'kafka',
  'topic' = 'output_topic',
  'properties.bootstrap.servers' = 'localhost:9092',
  'format' = 'json'
);

INSERT INTO word_counts SELECT value, COUNT(*) AS n FROM words GROUP BY value;
