-- The last bid of each bidder on each auction: every bid with its row number.
SELECT auction, bidder, price, channel, url, dateTime, extra,
       ROW_NUMBER() OVER (PARTITION BY bidder, auction ORDER BY dateTime DESC)
FROM bid;
