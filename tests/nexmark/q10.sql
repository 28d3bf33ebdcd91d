-- Log to file system, with the day and minute partition columns.
SELECT auction, bidder, price, dateTime, extra,
       strftime('%Y-%m-%d', dateTime / 1000, 'unixepoch'),
       strftime('%H:%M', dateTime / 1000, 'unixepoch')
FROM bid;
