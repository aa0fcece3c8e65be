-- Primary key of marts.deprivation: unique and never NULL.
SELECT as_of_date, province_code
FROM marts.deprivation
GROUP BY ALL
HAVING count(*) > 1 OR as_of_date IS NULL OR province_code IS NULL
