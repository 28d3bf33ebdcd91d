-- The function catalog: each family once, with the types the planner infers and the casts it
-- inserts (IF and COALESCE meet INTEGER and DOUBLE as DOUBLE); POSITION, EXTRACT and MOD are
-- syntax that lowers to catalog functions.
CREATE TABLE events (id BIGINT, url STRING, payload STRING, price DOUBLE, qty BIGINT, ts TIMESTAMP(3)) WITH ('connector' = 'kafka', 'topic' = 'events', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE out1 (a STRING, b STRING, c STRING, d BIGINT, e STRING, f BOOLEAN, g STRING, h STRING) WITH ('connector' = 'print');
CREATE TABLE out2 (a BIGINT, b DOUBLE, c DOUBLE, d DOUBLE, e BIGINT, f DOUBLE, g DOUBLE) WITH ('connector' = 'print');
CREATE TABLE out3 (a STRING, b BIGINT, c BIGINT, d TIMESTAMP(3), e BIGINT, f STRING, g STRING, h STRING) WITH ('connector' = 'print');

INSERT INTO out1 SELECT
  CONCAT_WS('/', url, CAST(id AS STRING)), REPLACE(url, 'http:', 'https:'), LPAD(CAST(qty AS STRING), 5, '0'),
  POSITION('?' IN url), SPLIT_INDEX(url, '/', 2), REGEXP(url, '^https?://'),
  REGEXP_EXTRACT(url, '(&|^)channel_id=([^&]*)', 2), INITCAP(REGEXP_REPLACE(url, '[^a-z]+', ' '))
FROM events;

INSERT INTO out2 SELECT
  MOD(qty, 7), POWER(price, 2), ROUND(price, 2), SQRT(ABS(price)), NULLIF(qty, 0), IF(qty > 10, price, qty), COALESCE(price, qty, 0)
FROM events;

INSERT INTO out3 SELECT
  DATE_FORMAT(ts, 'yyyy-MM-dd HH:mm'), EXTRACT(HOUR FROM ts), MINUTE(ts), TO_TIMESTAMP('2026-11-25 10:00:00'),
  UNIX_TIMESTAMP(DATE_FORMAT(ts, 'yyyy-MM-dd HH:mm:ss')), FROM_UNIXTIME(id, 'yyyy'), JSON_VALUE(payload, '$.user.name'), JSON_QUERY(payload, '$.items')
FROM events;
