-- audit.quarantine rebuilt over every delivery. Grain: one row per delivered row not simply
-- applied (held, conflict, stale, duplicate, parked), per applied row with a warning, per
-- held file none of whose rows reached the outcomes, and per loaded file whose volume jumped.
-- Reads the temp relations row_outcomes, outcome_files, applied_warnings and volume_jumps.
DELETE FROM audit.quarantine;
INSERT INTO audit.quarantine
SELECT _delivery_date, _file_name, entity, _row_number, record_key, outcome, reason, detail,
       CASE WHEN outcome = 'parked' THEN effective_date END
FROM row_outcomes WHERE outcome <> 'applied'
UNION ALL
SELECT _delivery_date, _file_name, entity, _row_number, record_key, 'warned', reason,
       detail, NULL
FROM applied_warnings
UNION ALL
SELECT f.delivery_date, f.file_name, coalesce(f.entity, 'unknown'), NULL, NULL, 'held',
       f.reason, f.detail, NULL
FROM audit.files f
ANTI JOIN outcome_files o USING (delivery_date, file_name)
WHERE f.outcome = 'held'
UNION ALL
SELECT delivery_date, file_name, entity, NULL, NULL, 'warned', 'volume_jump', detail, NULL
FROM volume_jumps;
