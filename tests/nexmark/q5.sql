-- Hot items: per 10 s window sliding by 2 s, the auctions with the most bids.
WITH hops AS (
    SELECT bid.auction, (bid.dateTime - bid.dateTime % 2000) - k * 2000 AS ws
    FROM bid, (SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3
               UNION ALL SELECT 4)
),
counts AS (SELECT auction, ws, COUNT(*) AS num FROM hops GROUP BY auction, ws),
maxes AS (SELECT ws, MAX(num) AS maxn FROM counts GROUP BY ws)
SELECT C.auction, C.num FROM counts C JOIN maxes M ON C.ws = M.ws AND C.num >= M.maxn;
