-- A CSV file sink partitioned by day and hour, as Flink's file system sink writes one: the
-- rows of each partition in <path>/dt=<day>/hr=<hour>/part-0.csv, without those columns.
CREATE TABLE bids (auction BIGINT, price BIGINT, bidder STRING, ts TIMESTAMP(3)) WITH ('connector' = 'kafka', 'topic' = 'bids', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE archive (auction BIGINT, price BIGINT, dt STRING, hr STRING) PARTITIONED BY (dt, hr) WITH (
  'connector' = 'filesystem', 'path' = 'file:///tmp/archive', 'format' = 'csv');
INSERT INTO archive SELECT auction, price, DATE_FORMAT(ts, 'yyyy-MM-dd'), DATE_FORMAT(ts, 'HH') FROM bids;
