-- Every county's deliveries over all processed delivery dates.
SELECT county_code,
       any_value(province_code) AS province_code,
       count(*) AS expected_days,
       count(*) FILTER (WHERE status = 'delivered') AS delivered_days,
       count(*) FILTER (WHERE status = 'missing') AS missing_days,
       sum(files) AS files,
       sum(files_held) AS files_held,
       sum(rows_received) AS rows_received,
       sum(rows_held) AS rows_held
FROM marts.data_quality_completeness
GROUP BY ALL
ORDER BY county_code
