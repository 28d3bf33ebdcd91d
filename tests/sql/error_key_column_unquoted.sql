-- error: a column named KEY, INDEX or another reserved word needs quotes
CREATE TABLE side (key BIGINT, v STRING) WITH ('connector' = 'filesystem', 'path' = '/data/side.csv', 'format' = 'csv');
CREATE TABLE o (v STRING) WITH ('connector' = 'print');
INSERT INTO o SELECT v FROM side;
