-- The latest $max_dates delivery dates with completeness, the latest first.
SELECT DISTINCT delivery_date
FROM marts.data_quality_completeness
ORDER BY delivery_date DESC
LIMIT $max_dates
