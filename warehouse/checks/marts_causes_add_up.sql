-- Main causes in marts.causes cover every registered (not removed) household of the
-- latest marts.poverty_stock once: per area, households and people match.
WITH causes AS (
    SELECT province_code, sum(households) AS households, sum(people) AS people
    FROM marts.causes
    GROUP BY ALL
),
stock AS (
    SELECT admin_code AS province_code,
           households_total - households_removed AS households,
           people_total - people_removed AS people
    FROM marts.poverty_stock
    WHERE admin_level IN ('nation', 'province')
      AND as_of_date = (SELECT max(as_of_date) FROM marts.poverty_stock)
      AND households_total > households_removed
)
SELECT coalesce(c.province_code, s.province_code) AS province_code
FROM causes c
FULL JOIN stock s USING (province_code)
WHERE (c.households, c.people) IS DISTINCT FROM (s.households, s.people)
