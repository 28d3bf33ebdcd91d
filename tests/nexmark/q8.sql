-- New users who opened an auction in the 10 s window they registered in.
WITH P AS (SELECT DISTINCT id, name, dateTime - dateTime % 10000 AS ws FROM person),
     A AS (SELECT DISTINCT seller, dateTime - dateTime % 10000 AS ws FROM auction)
SELECT P.id, P.name, P.ws FROM P JOIN A ON P.id = A.seller AND P.ws = A.ws;
