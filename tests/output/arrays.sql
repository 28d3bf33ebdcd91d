-- ARRAY columns read from JSON arrays (NULL elements kept), written back as JSON arrays,
-- indexed from 1 (NULL outside; also inside a ROW), built with ARRAY[...], and the array functions.
CREATE TABLE t (id BIGINT, tags ARRAY<STRING>, scores ARRAY<BIGINT>, path STRING, p ROW<name STRING, langs ARRAY<STRING>>) WITH ('connector' = 'kafka', 'topic' = 't', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
CREATE TABLE o (id BIGINT, tags ARRAY<STRING>, first_tag STRING, third STRING, n BIGINT, has_b BOOLEAN, pos BIGINT, joined STRING, with_nulls STRING, built ARRAY<DECIMAL(20, 1)>, parts ARRAY<STRING>, top BIGINT, as_text STRING, lang STRING) WITH ('connector' = 'print');
CREATE TABLE per_tag_count (first_tag STRING, n BIGINT, PRIMARY KEY (first_tag) NOT ENFORCED) WITH ('connector' = 'print');

INSERT INTO o SELECT id, tags, tags[1], tags[3], CARDINALITY(tags), ARRAY_CONTAINS(tags, 'b'), ARRAY_POSITION(scores, 7),
  ARRAY_JOIN(tags, '+'), ARRAY_JOIN(tags, '+', '?'), ARRAY[id, 1.5, NULL], SPLIT(path, '/'), scores[1] + scores[2],
  CAST(scores AS STRING), p.langs[2]
FROM t;

INSERT INTO per_tag_count SELECT tags[1], COUNT(*) FROM t GROUP BY tags[1];
