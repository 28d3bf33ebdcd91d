-- Calculation: euro prices in a band, the time of day, and the count of 'c' in extra (the
-- filter on 0.908 * price, exactly, in thousandths).
SELECT auction, bidder, printf('%d.%03d', (908 * price) / 1000, (908 * price) % 1000),
       CASE WHEN h >= 8 AND h <= 18 THEN 'dayTime'
            WHEN h <= 6 OR h >= 20 THEN 'nightTime'
            ELSE 'otherTime' END,
       dateTime, extra, length(extra) - length(replace(extra, 'c', ''))
FROM (SELECT *, CAST(strftime('%H', dateTime / 1000, 'unixepoch') AS INTEGER) AS h FROM bid)
WHERE 908 * price > 1000000000 AND 908 * price < 50000000000;
