-- Every function family on one row of values and one row of NULLs.
CREATE TABLE t (s STRING, n BIGINT, x DOUBLE, ts TIMESTAMP(3), j STRING) WITH ('connector' = 'kafka', 'topic' = 't', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE strings (s STRING, a STRING, b STRING, c STRING, d STRING, e BIGINT, f STRING, g BOOLEAN, h STRING, i STRING, k STRING, l STRING) WITH ('connector' = 'print');
CREATE TABLE numbers (n BIGINT, a BIGINT, b DOUBLE, c DOUBLE, d DOUBLE, e DOUBLE, f BIGINT, g DOUBLE, h DOUBLE, i BIGINT) WITH ('connector' = 'print');
CREATE TABLE times (n BIGINT, a STRING, b BIGINT, c BIGINT, d BIGINT, e TIMESTAMP(3), f BIGINT, g STRING, h STRING, i STRING) WITH ('connector' = 'print');

INSERT INTO strings SELECT s, INITCAP(s), CONCAT_WS('|', s, n, 'z'), REPLACE(s, 'o', '0'), LPAD(s, 8, '*-'),
  POSITION('wor' IN s), SPLIT_INDEX(s, ' ', 1), REGEXP(s, '^h.*d$'), REGEXP_EXTRACT(s, '(\w+) (\w+)', 2),
  REGEXP_REPLACE(s, '(\w+) (\w+)', '$2 $1'), RTRIM(LTRIM(CONCAT('  ', s, '  '))), UPPER(SUBSTRING(s, -5))
FROM t;

INSERT INTO numbers SELECT n, MOD(n, 7), POWER(n, 2), ROUND(x, 1), SQRT(x), LN(x), ABS(n - 100), IF(n > 10, x, n),
  COALESCE(x, n, -1), NULLIF(n, 42)
FROM t;

INSERT INTO times SELECT n, DATE_FORMAT(ts, 'yyyy-MM-dd HH:mm:ss.SSS EEE'), EXTRACT(YEAR FROM ts), MONTH(ts), HOUR(ts),
  TO_TIMESTAMP(DATE_FORMAT(ts, 'dd/MM/yyyy HH:mm'), 'dd/MM/yyyy HH:mm'), UNIX_TIMESTAMP(DATE_FORMAT(ts, 'yyyy-MM-dd HH:mm:ss')),
  FROM_UNIXTIME(n, 'HH:mm:ss'), JSON_VALUE(j, '$.user.name'), JSON_QUERY(j, '$.tags')
FROM t;
