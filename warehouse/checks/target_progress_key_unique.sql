-- Primary key of marts.target_progress.
SELECT as_of_date, year, province_code
FROM marts.target_progress
GROUP BY ALL
HAVING count(*) > 1
