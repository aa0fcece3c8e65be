-- Primary key of marts.programme_coverage.
SELECT as_of_date, province_code
FROM marts.programme_coverage
GROUP BY ALL
HAVING count(*) > 1
