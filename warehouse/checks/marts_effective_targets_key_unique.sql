-- Primary key of marts.effective_targets.
SELECT year, province_code, metric
FROM marts.effective_targets
GROUP BY ALL
HAVING count(*) > 1
