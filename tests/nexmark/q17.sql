-- Auction statistics per day (AVG of BIGINT truncates, as in Flink).
SELECT auction,
       strftime('%Y-%m-%d', dateTime / 1000, 'unixepoch') AS day,
       COUNT(*),
       COUNT(CASE WHEN price < 10000 THEN 1 END),
       COUNT(CASE WHEN price >= 10000 AND price < 1000000 THEN 1 END),
       COUNT(CASE WHEN price >= 1000000 THEN 1 END),
       MIN(price), MAX(price), SUM(price) / COUNT(price), SUM(price)
FROM bid GROUP BY auction, day;
