-- Primary key of marts.village_exit_readiness.
SELECT village_code
FROM marts.village_exit_readiness
GROUP BY ALL
HAVING count(*) > 1
