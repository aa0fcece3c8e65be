-- The nation's poverty stock on $as_of_date.
SELECT *
FROM marts.poverty_stock
WHERE admin_level = 'nation' AND as_of_date = $as_of_date
