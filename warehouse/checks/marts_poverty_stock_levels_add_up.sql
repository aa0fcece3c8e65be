-- Each level of marts.poverty_stock sums to the level above it (village -> township ->
-- county on the detail dates; county -> province -> nation on every date), in households,
-- people, villages, rural population and FGT population. Offending (as_of_date, level, code).
WITH levels AS (
    SELECT * FROM (VALUES ('village', 'township', 9), ('township', 'county', 6),
                          ('county', 'province', 2), ('province', 'nation', 0)) t(child, parent, len)
),
children AS (
    SELECT s.as_of_date, l.parent, CASE WHEN l.len = 0 THEN '00' ELSE left(s.admin_code, l.len) END AS code,
           sum(s.households_total) AS households, sum(s.people_total) AS people,
           sum(s.poor_stock_people) AS poor, sum(s.villages) AS villages,
           sum(s.rural_population) AS rural, sum(s.fgt_people) AS fgt
    FROM marts.poverty_stock s
    JOIN levels l ON l.child = s.admin_level
    GROUP BY ALL
)
SELECT c.as_of_date, c.parent, c.code
FROM children c
LEFT JOIN marts.poverty_stock p
  ON p.as_of_date = c.as_of_date AND p.admin_level = c.parent AND p.admin_code = c.code
WHERE p.admin_code IS NULL
   OR (c.households, c.people, c.poor, c.villages, c.rural, c.fgt)
      IS DISTINCT FROM (p.households_total, p.people_total, p.poor_stock_people, p.villages,
                        p.rural_population, p.fgt_people)
