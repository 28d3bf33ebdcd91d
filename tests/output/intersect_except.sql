-- INTERSECT and EXCEPT: distinct rows, NULLs equal to each other (as in SQL's set
-- operations); a row leaves EXCEPT when the right side gains it.
CREATE TABLE a (k STRING, v BIGINT) WITH ('connector' = 'kafka', 'topic' = 'a', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE b (k STRING, v BIGINT) WITH ('connector' = 'kafka', 'topic' = 'b', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE both_sides (k STRING, v BIGINT) WITH ('connector' = 'print');
CREATE TABLE left_only (k STRING, v BIGINT) WITH ('connector' = 'print');
INSERT INTO both_sides SELECT k, v FROM a INTERSECT SELECT k, v FROM b;
INSERT INTO left_only SELECT k, v FROM a EXCEPT SELECT k, v FROM b;
