-- SESSION windows (gap 5 s) over two partitions out of order: per bidder, bids less than 5 s
-- apart are one session [first, last + 5 s). A bid that arrives between two sessions merges
-- them (both retracted, the merged one added); a late bid (behind the watermark) is dropped.
-- Bidder 2's sessions all close (watermark 11 s after the third epoch) and its state goes:
-- its later bid starts a new session, and nothing of the old one is retracted. The window
-- table function and Flink's legacy GROUP BY SESSION(...) give the same rows.
CREATE TABLE bid (bidder BIGINT, price BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH ('connector' = 'kafka', 'topic' = 'bid', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE sessions_update (bidder BIGINT, window_start TIMESTAMP(3), window_end TIMESTAMP(3), n BIGINT, total BIGINT) WITH ('connector' = 'print');
CREATE TABLE sessions_close (bidder BIGINT, window_start TIMESTAMP(3), window_end TIMESTAMP(3), n BIGINT, total BIGINT) WITH ('connector' = 'print', 'sink.emit' = 'on-window-close');
CREATE TABLE sessions_legacy (bidder BIGINT, n BIGINT, starttime TIMESTAMP(3), endtime TIMESTAMP(3)) WITH ('connector' = 'print');

INSERT INTO sessions_update SELECT bidder, window_start, window_end, COUNT(*), SUM(price)
FROM TABLE(SESSION(TABLE bid PARTITION BY bidder, DESCRIPTOR(ts), INTERVAL '5' SECOND))
GROUP BY bidder, window_start, window_end;

INSERT INTO sessions_close SELECT bidder, window_start, window_end, COUNT(*), SUM(price)
FROM TABLE(SESSION(TABLE bid PARTITION BY bidder, DESCRIPTOR(ts), INTERVAL '5' SECOND))
GROUP BY bidder, window_start, window_end;

INSERT INTO sessions_legacy SELECT bidder, COUNT(*) AS n,
  SESSION_START(ts, INTERVAL '5' SECOND) AS starttime, SESSION_END(ts, INTERVAL '5' SECOND) AS endtime
FROM bid GROUP BY bidder, SESSION(ts, INTERVAL '5' SECOND);
