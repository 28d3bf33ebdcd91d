-- Nested ROW columns (read from nested JSON objects, named by their path), a computed column
-- over them, a watermark, and day-time interval arithmetic.
CREATE TABLE t (
  k BIGINT,
  p ROW<id BIGINT, addr ROW(city STRING, zip STRING)>,
  ts TIMESTAMP(3),
  late AS ts + INTERVAL '0 00:01:30.5' DAY TO SECOND,
  WATERMARK FOR ts AS ts - INTERVAL '4' SECOND
) WITH ('connector' = 'kafka', 'topic' = 't', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE o (k BIGINT, id BIGINT, city STRING, late TIMESTAMP(3), window_end TIMESTAMP(3), span STRING) WITH ('connector' = 'print');
INSERT INTO o SELECT t.k, p.id, t.p.addr.city, late, ts + INTERVAL '1' HOUR * 2, CAST(INTERVAL '90' MINUTE AS STRING) FROM t WHERE p.addr.zip IS NOT NULL;
