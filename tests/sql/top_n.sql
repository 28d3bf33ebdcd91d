-- Top-N plans: insert-only over a source (only each partition's best rows are kept) and over
-- an inner join of sources; hierarchical over a GROUP BY (which retracts); window top-Ns
-- (over a window's rows, and over a window aggregate) whose partitions expire with the
-- watermark.
CREATE TABLE bids (auction BIGINT, bidder BIGINT, price BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH ('connector' = 'kafka', 'topic' = 'bids', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE auctions (id BIGINT, seller BIGINT) WITH ('connector' = 'kafka', 'topic' = 'auctions', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE top3 (auction BIGINT, price BIGINT, rn BIGINT) WITH ('connector' = 'print');
CREATE TABLE best_per_seller (seller BIGINT, auction BIGINT, price BIGINT) WITH ('connector' = 'print');
CREATE TABLE hot (auction BIGINT, bids BIGINT) WITH ('connector' = 'print');
CREATE TABLE window_top (window_end TIMESTAMP(3), auction BIGINT, price BIGINT) WITH ('connector' = 'print', 'sink.emit' = 'on-window-close');
CREATE TABLE window_hot (window_end TIMESTAMP(3), auction BIGINT, bids BIGINT) WITH ('connector' = 'print', 'sink.emit' = 'on-window-close');
INSERT INTO top3 SELECT auction, price, rn FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY auction ORDER BY price DESC) AS rn FROM bids) WHERE rn <= 3;
INSERT INTO best_per_seller SELECT seller, auction, price FROM (
  SELECT a.seller, b.auction, b.price, ROW_NUMBER() OVER (PARTITION BY a.seller ORDER BY b.price DESC, b.ts ASC) AS rownum
  FROM auctions a JOIN bids b ON a.id = b.auction) WHERE rownum = 1;
INSERT INTO hot SELECT auction, bids FROM (
  SELECT auction, bids, ROW_NUMBER() OVER (ORDER BY bids DESC) AS rn FROM (SELECT auction, COUNT(*) AS bids FROM bids GROUP BY auction)
) WHERE rn <= 10;
INSERT INTO window_top SELECT window_end, auction, price FROM (
  SELECT window_end, auction, price, ROW_NUMBER() OVER (PARTITION BY window_start, window_end ORDER BY price DESC) AS rn
  FROM TABLE(TUMBLE(TABLE bids, DESCRIPTOR(ts), INTERVAL '10' SECOND))) WHERE rn <= 1;
INSERT INTO window_hot SELECT window_end, auction, bids FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end ORDER BY bids DESC) AS rn FROM (
    SELECT window_start, window_end, auction, COUNT(*) AS bids
    FROM TABLE(TUMBLE(TABLE bids, DESCRIPTOR(ts), INTERVAL '10' SECOND)) GROUP BY window_start, window_end, auction)
) WHERE rn <= 3;
