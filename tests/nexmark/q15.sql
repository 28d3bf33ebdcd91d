-- Bidding statistics per day.
SELECT strftime('%Y-%m-%d', dateTime / 1000, 'unixepoch') AS day,
       COUNT(*),
       COUNT(CASE WHEN price < 10000 THEN 1 END),
       COUNT(CASE WHEN price >= 10000 AND price < 1000000 THEN 1 END),
       COUNT(CASE WHEN price >= 1000000 THEN 1 END),
       COUNT(DISTINCT bidder),
       COUNT(DISTINCT CASE WHEN price < 10000 THEN bidder END),
       COUNT(DISTINCT CASE WHEN price >= 10000 AND price < 1000000 THEN bidder END),
       COUNT(DISTINCT CASE WHEN price >= 1000000 THEN bidder END),
       COUNT(DISTINCT auction),
       COUNT(DISTINCT CASE WHEN price < 10000 THEN auction END),
       COUNT(DISTINCT CASE WHEN price >= 10000 AND price < 1000000 THEN auction END),
       COUNT(DISTINCT CASE WHEN price >= 1000000 THEN auction END)
FROM bid GROUP BY day;
