-- URL directories: the 4th, 5th and 6th '/'-separated parts of the URL (0-based 3, 4, 5).
WITH p1 AS (SELECT *, substr(url, instr(url, '/') + 1) AS r1 FROM bid),
     p2 AS (SELECT *, substr(r1, instr(r1, '/') + 1) AS r2 FROM p1),
     p3 AS (SELECT *, substr(r2, instr(r2, '/') + 1) AS r3 FROM p2),
     p4 AS (SELECT *, substr(r3, instr(r3, '/') + 1) AS r4 FROM p3),
     p5 AS (SELECT *, substr(r4, instr(r4, '/') + 1) AS r5 FROM p4)
SELECT auction, bidder, price, channel,
       substr(r3, 1, instr(r3, '/') - 1),
       substr(r4, 1, instr(r4, '/') - 1),
       substr(r5, 1, instr(r5, '/') - 1)
FROM p5;
