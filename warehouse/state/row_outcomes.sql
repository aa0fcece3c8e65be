-- Every delivered row's outcome in a transform's output, as state.row_outcomes holds it: the
-- rows typing and validation held (judged_by staging) and each entity's applied, stale,
-- duplicate, parked, held or conflicting rows (judged_by transform). Grain: one row per
-- delivered row of the output. A full transform's output covers every delivery; an
-- incremental one's the rows it replaces.
SELECT entity, _delivery_date AS delivery_date, _file_name AS file_name,
       _row_number AS row_number, record_key, household_id, 'staging' AS judged_by,
       'held' AS outcome, reason, detail, NULL::DATE AS effective_date
FROM read_parquet($held_rows)
UNION ALL
SELECT 'villages', _delivery_date, _file_name, _row_number, record_key, household_id,
       'transform', outcome, reason, NULL, effective_date
FROM read_parquet($villages_outcomes)
UNION ALL
SELECT 'households', _delivery_date, _file_name, _row_number, record_key, household_id,
       'transform', outcome, reason, NULL, effective_date
FROM read_parquet($households_outcomes)
UNION ALL
SELECT 'members', _delivery_date, _file_name, _row_number, record_key, household_id,
       'transform', outcome, reason, NULL, effective_date
FROM read_parquet($members_outcomes)
UNION ALL
SELECT 'assistance', _delivery_date, _file_name, _row_number, record_key, household_id,
       'transform', outcome, reason, NULL, effective_date
FROM read_parquet($assistance_outcomes)
UNION ALL
SELECT 'targets', _delivery_date, _file_name, _row_number, record_key, household_id,
       'transform', outcome, reason, NULL, effective_date
FROM read_parquet($targets_outcomes)
