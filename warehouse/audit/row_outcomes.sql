-- Every delivered row's outcome over every delivery, from the transform's output: the rows
-- held before it (typing, validation) and each entity's applied, stale, duplicate, parked,
-- held or conflicting rows. Grain: one row per delivered row (entity, delivery date, file,
-- row number).
-- A view, not a table: at national scale every delivered row (120 M) would have to fit in
-- memory; each use reads the small Parquet columns again instead. A view takes no
-- parameters: the Parquet globs come in quoted.
CREATE OR REPLACE TEMP VIEW row_outcomes AS
SELECT entity, _delivery_date, _file_name, _row_number, record_key,
       'held' AS outcome, reason, detail, NULL::DATE AS effective_date
FROM read_parquet($held_rows)
UNION ALL
SELECT 'villages' AS entity, _delivery_date, _file_name, _row_number, record_key,
       outcome, reason, NULL::VARCHAR AS detail, effective_date
FROM read_parquet($villages_outcomes)
UNION ALL
SELECT 'households' AS entity, _delivery_date, _file_name, _row_number, record_key,
       outcome, reason, NULL::VARCHAR AS detail, effective_date
FROM read_parquet($households_outcomes)
UNION ALL
SELECT 'members' AS entity, _delivery_date, _file_name, _row_number, record_key,
       outcome, reason, NULL::VARCHAR AS detail, effective_date
FROM read_parquet($members_outcomes)
UNION ALL
SELECT 'assistance' AS entity, _delivery_date, _file_name, _row_number, record_key,
       outcome, reason, NULL::VARCHAR AS detail, effective_date
FROM read_parquet($assistance_outcomes)
UNION ALL
SELECT 'targets' AS entity, _delivery_date, _file_name, _row_number, record_key,
       outcome, reason, NULL::VARCHAR AS detail, effective_date
FROM read_parquet($targets_outcomes);
