-- Primary key of marts.target_progress: unique and never NULL.
SELECT as_of_date, year, province_code
FROM marts.target_progress
GROUP BY ALL
HAVING count(*) > 1 OR as_of_date IS NULL OR year IS NULL OR province_code IS NULL
