-- An interval join: each click joins the impressions of its ad shown in the ten seconds up to
-- it; a LEFT interval join keeps the clicks no impression explains, and retracts one when a
-- late impression arrives. (State is kept for the whole run until watermarks come.)
CREATE TABLE impressions (ad BIGINT, ts TIMESTAMP(3)) WITH ('connector' = 'kafka', 'topic' = 'impressions', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE clicks (ad BIGINT, ts TIMESTAMP(3)) WITH ('connector' = 'kafka', 'topic' = 'clicks', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE attributed (ad BIGINT, shown TIMESTAMP(3), clicked TIMESTAMP(3)) WITH ('connector' = 'print');
CREATE TABLE unattributed (ad BIGINT, clicked TIMESTAMP(3)) WITH ('connector' = 'print');

INSERT INTO attributed SELECT c.ad, i.ts, c.ts FROM clicks c JOIN impressions i
  ON c.ad = i.ad AND i.ts BETWEEN c.ts - INTERVAL '10' SECOND AND c.ts;
INSERT INTO unattributed SELECT c.ad, c.ts FROM clicks c LEFT JOIN impressions i
  ON c.ad = i.ad AND i.ts BETWEEN c.ts - INTERVAL '10' SECOND AND c.ts
  WHERE i.ad IS NULL;
