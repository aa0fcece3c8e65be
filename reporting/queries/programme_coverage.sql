-- Programme coverage of every area on $as_of_date.
SELECT *
FROM marts.programme_coverage
WHERE as_of_date = $as_of_date
ORDER BY province_code
