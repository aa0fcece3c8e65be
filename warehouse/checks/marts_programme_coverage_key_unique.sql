-- Primary key of marts.programme_coverage: unique and never NULL.
SELECT as_of_date, province_code
FROM marts.programme_coverage
GROUP BY ALL
HAVING count(*) > 1 OR as_of_date IS NULL OR province_code IS NULL
