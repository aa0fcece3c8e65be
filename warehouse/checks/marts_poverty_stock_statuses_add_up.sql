-- In marts.poverty_stock the statuses add up to the totals and the FGT population is part
-- of the poor stock.
SELECT as_of_date, admin_level, admin_code
FROM marts.poverty_stock
WHERE households_total <> households_poor + households_lifted + households_returned + households_removed
   OR people_total <> people_poor + people_lifted + people_returned + people_removed
   OR poor_stock_people <> people_poor + people_returned
   OR fgt_people > poor_stock_people
   OR poor_villages > villages
