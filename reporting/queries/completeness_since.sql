-- Each county's delivery status on every delivery date from $since.
SELECT delivery_date, county_code, province_code, status, files, files_held
FROM marts.data_quality_completeness
WHERE delivery_date >= $since
