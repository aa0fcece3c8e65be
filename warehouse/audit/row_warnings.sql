-- Warnings on delivered rows, from validation and the cross-entity checks
-- (state.row_findings). Grain: one row per warned delivered row: its first reason, every
-- finding in the detail.
CREATE OR REPLACE TEMP TABLE row_warnings AS
SELECT entity, delivery_date AS _delivery_date, file_name AS _file_name,
       row_number AS _row_number, any_value(record_key) AS record_key,
       min(reason) AS reason,
       string_agg(DISTINCT reason || coalesce(': ' || detail, ''), '; '
                  ORDER BY reason || coalesce(': ' || detail, '')) AS detail
FROM state.row_findings
GROUP BY ALL
