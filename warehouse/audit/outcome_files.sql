-- Each delivered file's rows by outcome, in one streaming pass over row_outcomes. Grain: one
-- row per (delivery date, file) with delivered rows.
-- The statements after it join this small table, never the outcomes themselves on the build
-- side of a hash join: at national scale 120 M rows would not fit beside the load.
CREATE OR REPLACE TEMP TABLE outcome_files AS
SELECT _delivery_date AS delivery_date, _file_name AS file_name,
       count(*) FILTER (WHERE outcome = 'applied') AS applied,
       count(*) FILTER (WHERE outcome = 'stale') AS stale,
       count(*) FILTER (WHERE outcome = 'duplicate') AS duplicate,
       count(*) FILTER (WHERE outcome = 'parked') AS parked,
       count(*) FILTER (WHERE outcome IN ('held', 'conflict')) AS held,
       count(*) AS listed
FROM row_outcomes GROUP BY ALL;
