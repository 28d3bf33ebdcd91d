-- User sessions: a bidder's bids less than 10 s apart are one session, which ends 10 s after
-- its last bid.
WITH marked AS (
    SELECT bidder, dateTime,
           CASE WHEN dateTime - LAG(dateTime) OVER (PARTITION BY bidder ORDER BY dateTime) < 10000
                THEN 0 ELSE 1 END AS starts
    FROM bid
),
numbered AS (
    SELECT bidder, dateTime,
           SUM(starts) OVER (PARTITION BY bidder ORDER BY dateTime ROWS UNBOUNDED PRECEDING) AS session
    FROM marked
)
SELECT bidder, COUNT(*), MIN(dateTime), MAX(dateTime) + 10000
FROM numbered GROUP BY bidder, session;
