-- error: a RANGE frame with an offset needs one ascending ORDER BY key of type TIMESTAMP, DATE or BIGINT
CREATE TABLE bids (auction BIGINT, price BIGINT, bidder STRING, ts TIMESTAMP(3)) WITH ('connector' = 'kafka', 'topic' = 'bids', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE out1 (auction BIGINT, n BIGINT) WITH ('connector' = 'print');
INSERT INTO out1 SELECT auction, COUNT(*) OVER (PARTITION BY auction ORDER BY bidder RANGE BETWEEN 10 PRECEDING AND CURRENT ROW) FROM bids;
