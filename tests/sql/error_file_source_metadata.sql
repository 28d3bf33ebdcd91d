-- error: table "side" reads a file, which has no Kafka metadata columns
CREATE TABLE side (v STRING, p INT METADATA FROM 'partition') WITH ('connector' = 'filesystem', 'path' = '/data/side.csv', 'format' = 'csv');
CREATE TABLE o (v STRING) WITH ('connector' = 'print');
INSERT INTO o SELECT v FROM side;
