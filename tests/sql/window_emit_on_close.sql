-- SET 'window.emit' = 'on-window-close': window GROUP BYs and top-Ns write each window's rows
-- once, on close. The MAX over the hopping counts then reads rows that only insert (so it is
-- insert-only, not hierarchical) and is written on close too; the GROUP BY that is not over a
-- window is not.
SET 'window.emit' = 'on-window-close';

CREATE TABLE events (k STRING, v BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '2' SECOND)
  WITH ('connector' = 'kafka', 'topic' = 'events', 'properties.bootstrap.servers' = 'localhost:9092',
        'format' = 'json');
CREATE TABLE hot (window_end TIMESTAMP(3), m BIGINT) WITH ('connector' = 'print');
CREATE TABLE firsts (rn BIGINT, k STRING, window_end TIMESTAMP(3)) WITH ('connector' = 'print');
CREATE TABLE totals (k STRING, n BIGINT) WITH ('connector' = 'print');

CREATE VIEW counts AS
  SELECT k, window_start, window_end, COUNT(*) AS n
  FROM TABLE(HOP(TABLE events, DESCRIPTOR(ts), INTERVAL '1' SECOND, INTERVAL '5' SECOND))
  GROUP BY k, window_start, window_end;

INSERT INTO hot SELECT window_end, MAX(n) FROM counts GROUP BY window_end;

INSERT INTO firsts SELECT rn, k, window_end FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end ORDER BY v DESC) AS rn
  FROM TABLE(TUMBLE(TABLE events, DESCRIPTOR(ts), INTERVAL '10' SECOND))
) WHERE rn <= 3;

INSERT INTO totals SELECT k, COUNT(*) FROM counts GROUP BY k;
