-- error: error_set_value.sql:3:1: 'on-close' is not a value of 'window.emit'

SET 'window.emit' = 'on-close';
CREATE TABLE t (k STRING) WITH ('connector' = 'kafka', 'topic' = 't', 'properties.bootstrap.servers' = 'x', 'format' = 'json');
CREATE TABLE o (k STRING) WITH ('connector' = 'print');
INSERT INTO o SELECT k FROM t;
