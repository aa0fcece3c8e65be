-- In marts.deprivation the four income x deprivation cells and the income-unknown ones
-- cover every household and person once, and the people are the poor stock of
-- marts.poverty_stock at the same date.
SELECT d.as_of_date, d.province_code
FROM marts.deprivation d
LEFT JOIN marts.poverty_stock s
  ON s.as_of_date = d.as_of_date AND s.admin_code = d.province_code
 AND s.admin_level IN ('nation', 'province')
WHERE d.households <> d.income_poor_deprived_households + d.income_poor_only_households
                     + d.deprived_only_households + d.neither_households
                     + d.income_unknown_households
   OR d.people <> d.income_poor_deprived_people + d.income_poor_only_people
                 + d.deprived_only_people + d.neither_people + d.income_unknown_people
   OR d.deprived_people > d.people
   OR d.people IS DISTINCT FROM s.poor_stock_people
