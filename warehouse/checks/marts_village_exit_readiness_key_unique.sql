-- Primary key of marts.village_exit_readiness: unique and never NULL.
SELECT village_code
FROM marts.village_exit_readiness
GROUP BY ALL
HAVING count(*) > 1 OR village_code IS NULL
