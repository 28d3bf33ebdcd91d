-- Histogram of word frequencies, printed to the console: how many distinct words occur
-- exactly n times. A chained aggregation: the second query reads the first one's output,
-- and both are maintained incrementally (a word moving from 3 to 4 occurrences moves one
-- unit from bucket 3 to bucket 4).
CREATE TABLE words (value STRING) WITH (
  'connector' = 'kafka',
  'topic' = 'my_topic',
  'properties.bootstrap.servers' = 'localhost:9092',
  'format' = 'raw',
  'scan.startup.mode' = 'earliest-offset'
);

CREATE TABLE histogram (occurrences BIGINT, words BIGINT) WITH (
  'connector' = 'print',
  'print.mode' = 'complete'
);

CREATE VIEW counts AS SELECT value, COUNT(*) AS n FROM words GROUP BY value;

INSERT INTO histogram SELECT n AS occurrences, COUNT(*) AS words FROM counts WHERE n >= 100 GROUP BY n;
