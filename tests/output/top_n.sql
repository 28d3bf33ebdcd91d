-- Top-N and deduplication with ROW_NUMBER() OVER (...), in Flink's forms: the first rows of
-- each partition with their numbers, renumbered (retract and re-add) as better rows come;
-- dedup keeping the last and the first row per key; a global top-N over a GROUP BY (which
-- retracts: the hierarchical plan); a top-N over a view and over a WITH name (each reader's
-- filter sets its limit); a window top-N written once per window when it closes, over the
-- rows of a window and over a window aggregate (Flink's "top suppliers per window"; its state
-- goes with the window, and that retraction is not written). Rows equal in the order are
-- ranked by their bytes.
CREATE TABLE bid (auction BIGINT, bidder BIGINT, price BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH ('connector' = 'kafka', 'topic' = 'bid', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE top2 (auction BIGINT, price BIGINT, bidder BIGINT, rn BIGINT) WITH ('connector' = 'print');
CREATE TABLE last_bid (auction BIGINT, bidder BIGINT, price BIGINT) WITH ('connector' = 'print');
CREATE TABLE first_bid (bidder BIGINT, auction BIGINT, ts TIMESTAMP(3)) WITH ('connector' = 'print');
CREATE TABLE hot (auction BIGINT, bids BIGINT, rn BIGINT) WITH ('connector' = 'print');
CREATE TABLE cheap (auction BIGINT, price BIGINT) WITH ('connector' = 'print');
CREATE TABLE second (auction BIGINT, price BIGINT) WITH ('connector' = 'print');
CREATE TABLE window_top (window_end TIMESTAMP(3), auction BIGINT, price BIGINT, rn BIGINT) WITH ('connector' = 'print', 'sink.emit' = 'on-window-close');
CREATE TABLE window_hot (window_end TIMESTAMP(3), auction BIGINT, bids BIGINT, rn BIGINT) WITH ('connector' = 'print', 'sink.emit' = 'on-window-close');
CREATE TABLE window_hot_update (window_end TIMESTAMP(3), auction BIGINT, bids BIGINT, rn BIGINT) WITH ('connector' = 'print');

INSERT INTO top2 SELECT auction, price, bidder, rn FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY auction ORDER BY price DESC) AS rn FROM bid
) WHERE rn <= 2;

INSERT INTO last_bid SELECT auction, bidder, price FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY bidder, auction ORDER BY ts DESC) AS rank_number FROM bid
) WHERE rank_number <= 1;

INSERT INTO first_bid SELECT bidder, auction, ts FROM (
  SELECT bidder, auction, ts, ROW_NUMBER() OVER (PARTITION BY bidder ORDER BY ts) AS rownum FROM bid
) WHERE rownum = 1;

CREATE VIEW counts AS SELECT auction, COUNT(*) AS bids FROM bid GROUP BY auction;
INSERT INTO hot SELECT * FROM (
  SELECT auction, bids, ROW_NUMBER() OVER (ORDER BY bids DESC, auction) AS rn FROM counts
) WHERE rn < 3;

CREATE VIEW ranked AS SELECT auction, price, ROW_NUMBER() OVER (PARTITION BY auction ORDER BY price ASC NULLS LAST) AS r FROM bid;
INSERT INTO cheap SELECT auction, price FROM ranked WHERE r = 1;

INSERT INTO second WITH ordered AS (
  SELECT auction, price, ROW_NUMBER() OVER (PARTITION BY auction ORDER BY price DESC) AS r FROM bid
) SELECT auction, price FROM ordered WHERE r = 2;

INSERT INTO window_top SELECT window_end, auction, price, rn FROM (
  SELECT window_end, auction, price, ROW_NUMBER() OVER (PARTITION BY window_start, window_end ORDER BY price DESC) AS rn
  FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(ts), INTERVAL '10' SECOND))
) WHERE rn <= 1;

CREATE VIEW window_bids AS SELECT window_start, window_end, auction, COUNT(*) AS bids
FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(ts), INTERVAL '10' SECOND)) GROUP BY window_start, window_end, auction;

INSERT INTO window_hot SELECT window_end, auction, bids, rn FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end ORDER BY bids DESC, auction) AS rn FROM window_bids
) WHERE rn <= 2;

INSERT INTO window_hot_update SELECT window_end, auction, bids, rn FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end ORDER BY bids DESC, auction) AS rn FROM window_bids
) WHERE rn <= 2;
