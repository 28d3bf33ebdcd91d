-- The ten highest bids of each auction: every bid with its row number (the sink's last column).
SELECT auction, bidder, price, channel, url, dateTime, extra,
       ROW_NUMBER() OVER (PARTITION BY auction ORDER BY price DESC)
FROM bid;
