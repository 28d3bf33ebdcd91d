-- error: error_set_position.sql:3:1: unknown setting 'checkpoint.intervl'

SET 'checkpoint.intervl' = '5s';
