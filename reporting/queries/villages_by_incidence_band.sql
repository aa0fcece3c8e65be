-- Villages per province and incidence band. $upper_edges are the bands' upper edges in
-- ascending order, the last band having none: band i holds i edges at or below the
-- incidence. Band -1: no incidence (no rural population on record).
SELECT province_code,
       CASE
           WHEN incidence IS NULL THEN -1
           ELSE len(list_filter($upper_edges, lambda edge: edge <= incidence))
       END AS bin,
       count(*) AS villages
FROM marts.village_exit_readiness
GROUP BY ALL
ORDER BY ALL
