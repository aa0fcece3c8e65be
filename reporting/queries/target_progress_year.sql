-- Target progress of every area and as-of date of $year.
SELECT *
FROM marts.target_progress
WHERE year = $year
ORDER BY province_code, as_of_date
