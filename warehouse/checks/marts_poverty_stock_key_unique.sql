-- Primary key of marts.poverty_stock.
SELECT as_of_date, admin_level, admin_code
FROM marts.poverty_stock
GROUP BY ALL
HAVING count(*) > 1
