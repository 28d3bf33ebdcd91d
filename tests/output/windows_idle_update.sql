-- An idle partition stops holding the watermark back ('scan.watermark.idle-timeout' = '2 s',
-- in epoch time), and holds it no more when it wakes (the watermark never goes back). With
-- 'late-records' = 'update', a record less than 5 s behind the watermark still updates its
-- closed window ('update' sink); one further behind is dropped; 'on-window-close' wrote the
-- window when it closed and does not change it.
CREATE TABLE clicks (page STRING, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('connector' = 'kafka', 'topic' = 'clicks', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json',
  'scan.watermark.idle-timeout' = '2 s', 'late-records' = 'update', 'late-records.allowed-lateness' = '5 s');
CREATE TABLE counts (window_start TIMESTAMP(3), window_end TIMESTAMP(3), n BIGINT) WITH ('connector' = 'print');
CREATE TABLE closed (window_start TIMESTAMP(3), window_end TIMESTAMP(3), n BIGINT) WITH ('connector' = 'print', 'sink.emit' = 'on-window-close');
INSERT INTO counts SELECT window_start, window_end, COUNT(*) FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '10' SECOND)) GROUP BY window_start, window_end;
INSERT INTO closed SELECT window_start, window_end, COUNT(*) FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '10' SECOND)) GROUP BY window_start, window_end;
