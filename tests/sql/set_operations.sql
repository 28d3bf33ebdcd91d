-- SELECT DISTINCT, UNION ALL (INTEGER meets DOUBLE as DOUBLE), UNION, and WITH: a WITH name is
-- a view of its own, read twice here, and hides the table of the same name.
CREATE TABLE clicks (user_id BIGINT, page STRING, score BIGINT) WITH ('connector' = 'kafka', 'topic' = 'clicks', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE views (user_id BIGINT, page STRING, score DOUBLE) WITH ('connector' = 'kafka', 'topic' = 'views', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE pages (page STRING) WITH ('connector' = 'print');
CREATE TABLE scores (user_id BIGINT, score DOUBLE) WITH ('connector' = 'print');
CREATE TABLE users (user_id BIGINT) WITH ('connector' = 'print');
CREATE TABLE busy (page STRING, n BIGINT, m BIGINT) WITH ('connector' = 'print');

INSERT INTO pages SELECT DISTINCT page FROM clicks;
INSERT INTO scores SELECT user_id, score FROM clicks UNION ALL SELECT user_id, score FROM views;
INSERT INTO users SELECT user_id FROM clicks UNION SELECT user_id FROM views;
INSERT INTO busy
WITH clicks AS (SELECT page, COUNT(*) AS n FROM views GROUP BY page)
SELECT a.page, a.n, b.n FROM clicks a JOIN clicks b ON a.page = b.page;
