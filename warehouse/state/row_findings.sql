-- The warnings on delivered rows in a transform's output, as state.row_findings holds them:
-- validation's (found_by validation) and the household rules' (found_by cross, with the
-- household). Grain: one row per finding. The income outliers are added by the load
-- (state/income_outliers.sql).
SELECT entity, _delivery_date AS delivery_date, _file_name AS file_name,
       _row_number AS row_number, record_key, NULL::VARCHAR AS household_id,
       'validation' AS found_by, reason, detail
FROM read_parquet($validation_warnings)
UNION ALL
SELECT entity, _delivery_date, _file_name, _row_number, record_key, record_key, 'cross',
       reason, detail
FROM read_parquet($cross_warnings)
