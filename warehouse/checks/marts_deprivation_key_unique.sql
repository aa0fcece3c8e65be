-- Primary key of marts.deprivation.
SELECT as_of_date, province_code
FROM marts.deprivation
GROUP BY ALL
HAVING count(*) > 1
