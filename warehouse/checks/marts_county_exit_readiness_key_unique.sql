-- Primary key of marts.county_exit_readiness.
SELECT county_code
FROM marts.county_exit_readiness
GROUP BY ALL
HAVING count(*) > 1
