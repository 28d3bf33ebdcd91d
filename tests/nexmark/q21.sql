-- Channel ids: hot channels by name, the others from the URL's channel_id parameter.
WITH tail AS (
    SELECT *, CASE WHEN instr(url, '&channel_id=') > 0
                   THEN substr(url, instr(url, '&channel_id=') + 12) END AS rest
    FROM bid
),
ids AS (
    SELECT *, CASE WHEN instr(rest, '&') > 0 THEN substr(rest, 1, instr(rest, '&') - 1)
                   ELSE rest END AS cid
    FROM tail
)
SELECT auction, bidder, price, channel,
       CASE lower(channel) WHEN 'apple' THEN '0' WHEN 'google' THEN '1'
                           WHEN 'facebook' THEN '2' WHEN 'baidu' THEN '3' ELSE cid END
FROM ids
WHERE cid IS NOT NULL OR lower(channel) IN ('apple', 'google', 'facebook', 'baidu');
