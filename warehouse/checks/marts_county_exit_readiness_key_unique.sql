-- Primary key of marts.county_exit_readiness: unique and never NULL.
SELECT county_code
FROM marts.county_exit_readiness
GROUP BY ALL
HAVING count(*) > 1 OR county_code IS NULL
