-- audit.reconciliation rebuilt over every delivery: what became of each file's rows.
-- Grain: one row per delivered file that was not late (delivery date, file name). A file
-- held whole counts its rows as held.
-- Reads the temp tables outcome_files and applied_warnings.
DELETE FROM audit.reconciliation;
INSERT INTO audit.reconciliation
WITH warned AS (
    SELECT _delivery_date AS delivery_date, _file_name AS file_name, count(*) AS warned
    FROM applied_warnings GROUP BY ALL
)
SELECT f.delivery_date, f.file_name, f.entity,
       CASE WHEN p.listed IS NULL THEN coalesce(f.rows, 0) ELSE coalesce(f.rows, p.listed) END,
       coalesce(p.applied, 0), coalesce(p.stale, 0), coalesce(p.duplicate, 0),
       coalesce(p.parked, 0),
       CASE WHEN p.listed IS NULL THEN coalesce(f.rows, 0) ELSE p.held END,
       coalesce(w.warned, 0)
FROM audit.files f
LEFT JOIN outcome_files p USING (delivery_date, file_name)
LEFT JOIN warned w USING (delivery_date, file_name)
WHERE f.outcome <> 'late';
