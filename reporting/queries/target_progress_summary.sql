-- Target progress of every area on $as_of_date, rounded for the terminal (the share of the
-- target as a percent).
SELECT as_of_date, year, province_code, target_people, lifted_people, returned_people,
       net_people, round(100 * share_of_target, 2) AS pct_of_target,
       round(projected_year_end) AS projected_year_end, on_track
FROM marts.target_progress
WHERE as_of_date = $as_of_date
ORDER BY province_code
