-- DECIMAL(p, s) is exact: read from JSON numbers and strings, typed and rounded as in Flink
-- (HALF_UP), summed and averaged exactly, compared across scales, and an overflow is an error.
CREATE TABLE t (k STRING, price DECIMAL(10, 2), qty BIGINT, rate DOUBLE) WITH ('connector' = 'kafka', 'topic' = 't', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE arith (k STRING, a DECIMAL(12, 2), b DECIMAL(30, 2), c DECIMAL(20, 6), d DECIMAL(23, 3), e DOUBLE, f BOOLEAN, g STRING, h BIGINT, i DECIMAL(10, 1), j DECIMAL(10, 2)) WITH ('connector' = 'print');
CREATE TABLE sums (k STRING, total DECIMAL(38, 2), avg_price DECIMAL(38, 6), lo DECIMAL(10, 2), hi DECIMAL(10, 2), n BIGINT, PRIMARY KEY (k) NOT ENFORCED) WITH ('connector' = 'print');

INSERT INTO arith SELECT k, price + 1.05, price * qty, price / 3, 0.908 * qty, price * rate, price > 10.5,
  CAST(price AS STRING), CAST(price AS BIGINT), CAST(price AS DECIMAL(10, 1)), MOD(price, 1)
FROM t;

INSERT INTO sums SELECT k, SUM(price), AVG(price), MIN(price), MAX(price), COUNT(DISTINCT price) FROM t GROUP BY k;

-- ROUND, FLOOR, CEIL and ABS stay exact on a DECIMAL (HALF_UP, as Flink's ROUND).
CREATE TABLE rounding (k STRING, r1 DECIMAL(10, 1), r0 DECIMAL(10, 0), rm DECIMAL(10, 0), fl DECIMAL(10, 0), ce DECIMAL(10, 0), ab DECIMAL(10, 2), neg DECIMAL(10, 2)) WITH ('connector' = 'print');
INSERT INTO rounding SELECT k, ROUND(price, 1), ROUND(price), ROUND(price, -1), FLOOR(price), CEIL(price), ABS(price), -price FROM t;
