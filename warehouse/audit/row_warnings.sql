-- Warnings on delivered rows, from validation and the cross-entity checks. Grain: one row
-- per warned delivered row: its first reason, every finding in the detail.
CREATE OR REPLACE TEMP TABLE row_warnings AS
SELECT entity, _delivery_date, _file_name, _row_number, any_value(record_key) AS record_key,
       min(reason) AS reason,
       string_agg(DISTINCT reason || coalesce(': ' || detail, ''), '; ') AS detail
FROM (
    SELECT entity, _delivery_date, _file_name, _row_number, record_key, reason, detail
    FROM read_parquet($validation_warnings)
    UNION ALL
    SELECT entity, _delivery_date, _file_name, _row_number, record_key, reason, detail
    FROM read_parquet($cross_warnings)
)
GROUP BY ALL;
