-- Winning bids: per auction, its highest bid while open (then earliest). Every candidate with
-- its row number; the harness keeps numbers <= 1 and compares ties by their ORDER BY values.
SELECT A.id, A.itemName, A.description, A.initialBid, A.reserve, A.dateTime, A.expires,
       A.seller, A.category, A.extra, B.auction, B.bidder, B.price, B.dateTime, B.extra,
       ROW_NUMBER() OVER (PARTITION BY A.id ORDER BY B.price DESC, B.dateTime ASC)
FROM auction A, bid B
WHERE A.id = B.auction AND B.dateTime BETWEEN A.dateTime AND A.expires;
