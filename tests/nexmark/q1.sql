-- Currency conversion: 0.908 * price, exact, as DECIMAL(23, 3) text.
SELECT auction, bidder, printf('%d.%03d', (908 * price) / 1000, (908 * price) % 1000),
       dateTime, extra
FROM bid;
