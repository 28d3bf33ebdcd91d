-- Average selling price by seller: each auction's winning bid (highest price while open, then
-- earliest; rows tied on both are the same row here), then per seller the integer average
-- (truncated, as Flink's BIGINT AVG) of that price over the auction and the 10 before it in
-- winning-bid time. Rows tied in time are ordered by their other columns (the price), as
-- ddflow orders tied rows of an OVER window by their values.
WITH winning AS (
    SELECT seller, final, dateTime FROM (
        SELECT A.seller AS seller, B.price AS final, B.dateTime AS dateTime,
               ROW_NUMBER() OVER (PARTITION BY A.id ORDER BY B.price DESC, B.dateTime ASC) AS rn
        FROM auction A, bid B
        WHERE A.id = B.auction AND B.dateTime BETWEEN A.dateTime AND A.expires
    ) WHERE rn = 1
)
SELECT seller,
       SUM(final) OVER w / COUNT(final) OVER w
FROM winning
WINDOW w AS (PARTITION BY seller ORDER BY dateTime, final ROWS BETWEEN 10 PRECEDING AND CURRENT ROW);
