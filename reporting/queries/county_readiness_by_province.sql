-- Counties per province and exit-readiness status.
SELECT province_code, status, count(*) AS counties
FROM marts.county_exit_readiness
GROUP BY ALL
ORDER BY ALL
