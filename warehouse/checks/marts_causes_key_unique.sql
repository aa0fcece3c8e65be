-- Primary key of marts.causes: unique and never NULL.
SELECT province_code, cause
FROM marts.causes
GROUP BY ALL
HAVING count(*) > 1 OR province_code IS NULL OR cause IS NULL
