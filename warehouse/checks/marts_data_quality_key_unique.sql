-- Primary keys of marts.data_quality_completeness and marts.data_quality_quarantine:
-- unique and never NULL.
SELECT 'completeness' AS mart, delivery_date, county_code AS key
FROM marts.data_quality_completeness
GROUP BY ALL
HAVING count(*) > 1 OR delivery_date IS NULL OR county_code IS NULL
UNION ALL
SELECT 'quarantine', delivery_date, concat_ws('|', entity, outcome, reason)
FROM marts.data_quality_quarantine
GROUP BY delivery_date, entity, outcome, reason
HAVING count(*) > 1 OR delivery_date IS NULL OR entity IS NULL OR outcome IS NULL
    OR reason IS NULL
