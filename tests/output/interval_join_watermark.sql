-- Interval joins under watermarks (each table's greatest time less 2 s): each click joins the
-- impressions of its ad in the ten seconds up to it. A click or impression at or behind its
-- own table's watermark of the epoch before it is late and dropped (the click at 9 s and the
-- impression at 25 s, in epoch 2; each of the two joins drops both, so 4 are counted). A click
-- goes from the state once the lesser watermark passes its time, an impression once it passes
-- its time plus 10 s; their pairs and unattributed clicks stay written (going is not a
-- retraction). An impression that is not late still finds a click kept in the state (ad 5,
-- epoch 4), retracting its unattributed row.
CREATE TABLE impressions (ad BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '2' SECOND) WITH ('connector' = 'kafka', 'topic' = 'impressions', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE clicks (ad BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '2' SECOND) WITH ('connector' = 'kafka', 'topic' = 'clicks', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE attributed (ad BIGINT, shown TIMESTAMP(3), clicked TIMESTAMP(3)) WITH ('connector' = 'print');
CREATE TABLE unattributed (ad BIGINT, clicked TIMESTAMP(3)) WITH ('connector' = 'print');

INSERT INTO attributed SELECT c.ad, i.ts, c.ts FROM clicks c, impressions i
  WHERE c.ad = i.ad AND i.ts BETWEEN c.ts - INTERVAL '10' SECOND AND c.ts;
INSERT INTO unattributed SELECT c.ad, c.ts FROM clicks c LEFT JOIN impressions i
  ON c.ad = i.ad AND i.ts BETWEEN c.ts - INTERVAL '10' SECOND AND c.ts
  WHERE i.ad IS NULL;
