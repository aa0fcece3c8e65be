-- Primary keys of marts.data_quality_completeness and marts.data_quality_quarantine.
SELECT 'completeness' AS mart, delivery_date, county_code AS key
FROM marts.data_quality_completeness
GROUP BY ALL
HAVING count(*) > 1
UNION ALL
SELECT 'quarantine', delivery_date, concat_ws('|', entity, outcome, reason)
FROM marts.data_quality_quarantine
GROUP BY ALL
HAVING count(*) > 1
