-- Primary key of marts.effective_targets: unique and never NULL.
SELECT year, province_code, metric
FROM marts.effective_targets
GROUP BY ALL
HAVING count(*) > 1 OR year IS NULL OR province_code IS NULL OR metric IS NULL
