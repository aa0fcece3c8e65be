-- Primary key of marts.poverty_stock: unique and never NULL.
SELECT as_of_date, admin_level, admin_code
FROM marts.poverty_stock
GROUP BY ALL
HAVING count(*) > 1 OR as_of_date IS NULL OR admin_level IS NULL OR admin_code IS NULL
