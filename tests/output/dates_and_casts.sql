-- DATE columns and literals, date arithmetic and functions, and CAST/TRY_CAST between the
-- types: what each conversion gives, and that TRY_CAST is NULL where CAST would fail.
CREATE TABLE t (s STRING, n BIGINT, x DOUBLE, b BOOLEAN, ts TIMESTAMP(3), d DATE, m DECIMAL(6, 2)) WITH ('connector' = 'kafka', 'topic' = 't', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE dates (d DATE, next_day DATE, week_before DATE, as_ts TIMESTAMP(3), ts_day DATE, y BIGINT, dom BIGINT, fmt STRING, parsed DATE, custom DATE, after_new_year BOOLEAN, same_day BOOLEAN) WITH ('connector' = 'print');
CREATE TABLE to_text (s1 STRING, s2 STRING, s3 STRING, s4 STRING, s5 STRING, s6 STRING, s7 STRING) WITH ('connector' = 'print');
CREATE TABLE from_text (i BIGINT, f DOUBLE, bo BOOLEAN, t TIMESTAMP(3), dt DATE, dc DECIMAL(6, 2), bad_int BIGINT, bad_date DATE, bad_dec DECIMAL(6, 2)) WITH ('connector' = 'print');
CREATE TABLE numbers (n_f DOUBLE, n_b BOOLEAN, n_m DECIMAL(10, 2), x_i BIGINT, x_m DECIMAL(10, 2), b_i BIGINT, b_f DOUBLE, m_i BIGINT, m_f DOUBLE, m_b BOOLEAN, ts_i BIGINT, n_ts TIMESTAMP(3)) WITH ('connector' = 'print');

INSERT INTO dates SELECT d, d + INTERVAL '1' DAY, d - INTERVAL '7' DAY, CAST(d AS TIMESTAMP), CAST(ts AS DATE),
  YEAR(d), DAYOFMONTH(d), DATE_FORMAT(d, 'dd/MM/yyyy'), TO_DATE(s), TO_DATE('31.01.2026', 'dd.MM.yyyy'),
  d >= DATE '2026-01-01', d = CAST(ts AS DATE)
FROM t;

INSERT INTO to_text SELECT CAST(n AS STRING), CAST(x AS STRING), CAST(b AS STRING), CAST(ts AS STRING),
  CAST(d AS STRING), CAST(m AS STRING), CAST(INTERVAL '90' MINUTE AS STRING)
FROM t;

INSERT INTO from_text SELECT CAST('42' AS BIGINT), CAST('2.5e3' AS DOUBLE), CAST('TRUE' AS BOOLEAN),
  CAST('2026-01-31 10:00:00' AS TIMESTAMP), CAST(s AS DATE), CAST('12.345' AS DECIMAL(6, 2)),
  TRY_CAST('4x2' AS BIGINT), TRY_CAST('2026-13-01' AS DATE), TRY_CAST('12345.6' AS DECIMAL(6, 2))
FROM t;

INSERT INTO numbers SELECT CAST(n AS DOUBLE), CAST(n AS BOOLEAN), CAST(n AS DECIMAL(10, 2)), CAST(x AS BIGINT),
  CAST(x AS DECIMAL(10, 2)), CAST(b AS BIGINT), CAST(b AS DOUBLE), CAST(m AS BIGINT), CAST(m AS DOUBLE),
  CAST(m AS BOOLEAN), CAST(ts AS BIGINT), CAST(n AS TIMESTAMP)
FROM t;
