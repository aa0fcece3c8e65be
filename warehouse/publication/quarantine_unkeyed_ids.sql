-- Resident IDs named in the quarantine (members' record keys) that no core table keys: IDs
-- of rows that never reached core. Reads the temp table quarantine_keys
-- (quarantine_kept_keys.sql). Grain: one row per ID.
SELECT DISTINCT q.record_key AS id_number
FROM wh.audit.quarantine q
ANTI JOIN quarantine_keys k ON k.id_number = q.record_key
WHERE q.entity = 'members' AND q.record_key IS NOT NULL;
