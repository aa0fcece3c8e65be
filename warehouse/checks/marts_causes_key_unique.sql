-- Primary key of marts.causes.
SELECT province_code, cause
FROM marts.causes
GROUP BY ALL
HAVING count(*) > 1
