-- Village and county readiness hold the same poor people and rural population as the
-- nation row of marts.poverty_stock at the latest as_of date. Offending rows: the totals.
WITH latest AS (
    SELECT people_poor + people_returned AS poor, rural_population AS rural
    FROM marts.poverty_stock
    WHERE admin_level = 'nation'
      AND as_of_date = (SELECT max(as_of_date) FROM marts.poverty_stock)
),
villages AS (
    SELECT coalesce(sum(poor_people), 0) AS poor, coalesce(sum(rural_population), 0) AS rural
    FROM marts.village_exit_readiness
),
counties AS (
    SELECT coalesce(sum(poor_people), 0) AS poor, coalesce(sum(rural_population), 0) AS rural
    FROM marts.county_exit_readiness
)
SELECT 'village' AS mart, v.poor, v.rural FROM villages v, latest l
WHERE (v.poor, v.rural) IS DISTINCT FROM (l.poor, l.rural)
UNION ALL
SELECT 'county', c.poor, c.rural FROM counties c, latest l
WHERE (c.poor, c.rural) IS DISTINCT FROM (l.poor, l.rural)
