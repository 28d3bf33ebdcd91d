-- Highest bid per 10 s window, joined back to the bids (price and bidder swap places in the
-- sink, by position, as in Flink's text).
WITH maxes AS (
    SELECT MAX(price) AS maxprice, (dateTime - dateTime % 10000) + 10000 AS we
    FROM bid GROUP BY dateTime - dateTime % 10000
)
SELECT B.auction, B.price, B.bidder, B.dateTime, B.extra
FROM bid B JOIN maxes M ON B.price = M.maxprice
WHERE B.dateTime BETWEEN M.we - 10000 AND M.we;
