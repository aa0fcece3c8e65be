-- marts.data_quality_quarantine counts every audit.quarantine entry once, and
-- marts.data_quality_completeness every county file of the processed dates once.
WITH quarantine AS (
    SELECT (SELECT count(*) FROM audit.quarantine) AS audit_count,
           (SELECT coalesce(sum(records), 0) FROM marts.data_quality_quarantine) AS mart_count
),
files AS (
    SELECT (SELECT count(*) FROM audit.files
            WHERE outcome <> 'late' AND regexp_full_match(source, '[0-9]{6}')
              AND delivery_date IN (SELECT delivery_date FROM audit.runs WHERE state = 'success'))
               AS audit_count,
           (SELECT coalesce(sum(files), 0) FROM marts.data_quality_completeness) AS mart_count
)
SELECT 'quarantine' AS mart, audit_count, mart_count FROM quarantine
WHERE audit_count <> mart_count
UNION ALL
SELECT 'completeness', audit_count, mart_count FROM files
WHERE audit_count <> mart_count
