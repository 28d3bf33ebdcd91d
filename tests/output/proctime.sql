-- Processing time, opted in: PROCTIME() (a select item here, as in Nexmark q12; a computed
-- column works too) is the time of the epoch a record is read in, so a processing-time window
-- counts the records of its epochs. Epoch i is at i seconds: 2-second windows hold epochs 0-1
-- and 2-3. The windows have no watermark, so they are written as they grow.
SET 'processing-time' = 'epoch';
CREATE TABLE bid (bidder BIGINT, price BIGINT, seen AS PROCTIME()) WITH ('connector' = 'kafka', 'topic' = 'b', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE counts (bidder BIGINT, bid_count BIGINT, starttime TIMESTAMP(3), endtime TIMESTAMP(3)) WITH ('connector' = 'print');
CREATE TABLE seen (bidder BIGINT, seen TIMESTAMP(3)) WITH ('connector' = 'print');
INSERT INTO counts
SELECT B.bidder, count(*) as bid_count, TUMBLE_START(B.p_time, INTERVAL '2' SECOND) as starttime, TUMBLE_END(B.p_time, INTERVAL '2' SECOND) as endtime
FROM (SELECT *, PROCTIME() as p_time FROM bid) B
GROUP BY B.bidder, TUMBLE(B.p_time, INTERVAL '2' SECOND);
INSERT INTO seen SELECT bidder, seen FROM bid WHERE price > 10;
