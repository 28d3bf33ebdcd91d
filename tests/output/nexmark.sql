-- Nexmark's schema as Flink declares it (nested ROW columns read from nested JSON, a computed
-- dateTime, a watermark) and queries of the joins/types issue over a few events: q1's exact
-- DECIMAL currency conversion, a selection,
-- the two joins (q3, q20), the nested aggregate with a time condition (q4), per-day statistics
-- (q17, with FILTER and AVG of BIGINT), string functions (q21, q22), and a ROW written back as
-- a nested object.
CREATE TABLE kafka (
    event_type INT,
    person ROW<
        id BIGINT,
        name VARCHAR,
        emailAddress VARCHAR,
        creditCard VARCHAR,
        city VARCHAR,
        state VARCHAR,
        dateTime TIMESTAMP(3),
        extra VARCHAR>,
    auction ROW<
        id BIGINT,
        itemName VARCHAR,
        description VARCHAR,
        initialBid BIGINT,
        reserve BIGINT,
        dateTime TIMESTAMP(3),
        expires TIMESTAMP(3),
        seller BIGINT,
        category BIGINT,
        extra VARCHAR>,
    bid ROW<
        auction BIGINT,
        bidder BIGINT,
        price BIGINT,
        channel VARCHAR,
        url VARCHAR,
        dateTime TIMESTAMP(3),
        extra VARCHAR>,
    dateTime AS
        CASE
            WHEN event_type = 0 THEN person.dateTime
            WHEN event_type = 1 THEN auction.dateTime
            ELSE bid.dateTime
        END,
    WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND
) WITH (
    'connector' = 'kafka',
    'topic' = 'nexmark',
    'properties.bootstrap.servers' = 'localhost:9092',
    'properties.group.id' = 'nexmark',
    'scan.startup.mode' = 'earliest-offset',
    'format' = 'json'
);

CREATE VIEW person AS
SELECT
    person.id,
    person.name,
    person.emailAddress,
    person.creditCard,
    person.city,
    person.state,
    dateTime,
    person.extra
FROM kafka WHERE event_type = 0;

CREATE VIEW auction AS
SELECT
    auction.id,
    auction.itemName,
    auction.description,
    auction.initialBid,
    auction.reserve,
    dateTime,
    auction.expires,
    auction.seller,
    auction.category,
    auction.extra
FROM kafka WHERE event_type = 1;

CREATE VIEW bid AS
SELECT
    bid.auction,
    bid.bidder,
    bid.price,
    bid.channel,
    bid.url,
    dateTime,
    bid.extra
FROM kafka WHERE event_type = 2;


CREATE TABLE q1 (auction BIGINT, bidder BIGINT, price DECIMAL(23, 3), dateTime TIMESTAMP(3), extra VARCHAR) WITH ('connector' = 'print');
CREATE TABLE q2 (auction BIGINT, price BIGINT) WITH ('connector' = 'print');
CREATE TABLE q3 (name VARCHAR, city VARCHAR, state VARCHAR, id BIGINT) WITH ('connector' = 'print');
CREATE TABLE q4 (id BIGINT, final BIGINT) WITH ('connector' = 'print');
CREATE TABLE q17 (auction BIGINT, `day` VARCHAR, total_bids BIGINT, rank1_bids BIGINT, min_price BIGINT, avg_price BIGINT, sum_price BIGINT) WITH ('connector' = 'print');
CREATE TABLE q20 (auction BIGINT, price BIGINT, bid_dateTime TIMESTAMP(3), itemName VARCHAR, auction_dateTime TIMESTAMP(3), category BIGINT) WITH ('connector' = 'print');
CREATE TABLE q21 (auction BIGINT, channel VARCHAR, channel_id VARCHAR) WITH ('connector' = 'print');
CREATE TABLE q22 (auction BIGINT, dir1 VARCHAR, dir2 VARCHAR, dir3 VARCHAR) WITH ('connector' = 'print');
CREATE TABLE nested (
    id BIGINT,
    seller ROW<id BIGINT, place ROW<city VARCHAR, state VARCHAR>>,
    opened TIMESTAMP(3)
) WITH ('connector' = 'print');

INSERT INTO q1 SELECT auction, bidder, 0.908 * price as price, dateTime, extra FROM bid;

INSERT INTO q2 SELECT auction, price FROM bid WHERE MOD(auction, 2) = 0;

INSERT INTO q3
SELECT P.name, P.city, P.state, A.id
FROM auction AS A INNER JOIN person AS P on A.seller = P.id
WHERE A.category = 10 and (P.state = 'OR' OR P.state = 'ID' OR P.state = 'CA');

INSERT INTO q4
SELECT Q.category, AVG(Q.final)
FROM (
    SELECT MAX(B.price) AS final, A.category
    FROM auction A, bid B
    WHERE A.id = B.auction AND B.dateTime BETWEEN A.dateTime AND A.expires
    GROUP BY A.id, A.category
) Q
GROUP BY Q.category;

INSERT INTO q17
SELECT auction, DATE_FORMAT(dateTime, 'yyyy-MM-dd') as `day`, count(*) AS total_bids,
    count(*) filter (where price < 10000) AS rank1_bids, min(price) AS min_price,
    avg(price) AS avg_price, sum(price) AS sum_price
FROM bid
GROUP BY auction, DATE_FORMAT(dateTime, 'yyyy-MM-dd');

INSERT INTO q20
SELECT auction, price, B.dateTime, itemName, A.dateTime, category
FROM bid AS B INNER JOIN auction AS A on B.auction = A.id
WHERE A.category = 10;

INSERT INTO q21
SELECT auction, channel,
    CASE
        WHEN lower(channel) = 'apple' THEN '0'
        WHEN lower(channel) = 'google' THEN '1'
        ELSE REGEXP_EXTRACT(url, '(&|^)channel_id=([^&]*)', 2)
    END AS channel_id
FROM bid
WHERE REGEXP_EXTRACT(url, '(&|^)channel_id=([^&]*)', 2) is not null or lower(channel) in ('apple', 'google');

INSERT INTO q22
SELECT auction, SPLIT_INDEX(url, '/', 3), SPLIT_INDEX(url, '/', 4), SPLIT_INDEX(url, '/', 5) FROM bid;

INSERT INTO nested
SELECT A.id, P.id, P.city, P.state, A.dateTime + INTERVAL '1:30' HOUR TO MINUTE
FROM auction A JOIN person P ON A.seller = P.id;
