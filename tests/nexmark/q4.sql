-- Average winning price per category (AVG of BIGINT truncates, as in Flink).
SELECT category, SUM(final) / COUNT(final)
FROM (
    SELECT MAX(B.price) AS final, A.category
    FROM auction A, bid B
    WHERE A.id = B.auction AND B.dateTime BETWEEN A.dateTime AND A.expires
    GROUP BY A.id, A.category
)
GROUP BY category;
