-- Bounded side input join: the side input's row for auction % 10000 holds its own decimal text.
SELECT auction, bidder, price, dateTime, CAST(auction % 10000 AS TEXT) FROM bid;
