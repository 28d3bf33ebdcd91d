-- Window table functions over a table with a watermark, two partitions out of order: TUMBLE
-- written as it grows ('update') and once per window on close; HOP and CUMULATE on close. A
-- record at or behind the watermark of the epoch before it (the partitions' least largest
-- time, less 2 s) is dropped; one ahead of it still reaches its window before that closes. At
-- the end of the (bounded) input every window closes.
CREATE TABLE bid (auction BIGINT, price BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '2' SECOND) WITH ('connector' = 'kafka', 'topic' = 'bid', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE tumble_update (auction BIGINT, window_start TIMESTAMP(3), window_end TIMESTAMP(3), n BIGINT, top BIGINT) WITH ('connector' = 'print');
CREATE TABLE tumble_close (auction BIGINT, window_start TIMESTAMP(3), window_end TIMESTAMP(3), n BIGINT, top BIGINT) WITH ('connector' = 'print', 'sink.emit' = 'on-window-close');
CREATE TABLE hop_close (window_start TIMESTAMP(3), window_end TIMESTAMP(3), n BIGINT) WITH ('connector' = 'print', 'sink.emit' = 'on-window-close');
CREATE TABLE cumulate_close (window_start TIMESTAMP(3), window_end TIMESTAMP(3), n BIGINT, total BIGINT) WITH ('connector' = 'print', 'sink.emit' = 'on-window-close');

INSERT INTO tumble_update SELECT auction, window_start, window_end, COUNT(*), MAX(price)
FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(ts), INTERVAL '10' SECOND)) GROUP BY auction, window_start, window_end;

INSERT INTO tumble_close SELECT auction, window_start, window_end, COUNT(*), MAX(price)
FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(ts), INTERVAL '10' SECOND)) GROUP BY auction, window_start, window_end;

INSERT INTO hop_close SELECT window_start, window_end, COUNT(*)
FROM TABLE(HOP(TABLE bid, DESCRIPTOR(ts), INTERVAL '5' SECOND, INTERVAL '10' SECOND)) GROUP BY window_start, window_end;

INSERT INTO cumulate_close SELECT window_start, window_end, COUNT(*), SUM(price)
FROM TABLE(CUMULATE(TABLE bid, DESCRIPTOR(ts), INTERVAL '5' SECOND, INTERVAL '10' SECOND)) GROUP BY window_start, window_end;
