-- Processing-time windows: which window a bid falls in depends on when it was read, so only
-- what does not is compared: each bidder's bids over all its windows.
SELECT bidder, COUNT(*) FROM bid GROUP BY bidder;
