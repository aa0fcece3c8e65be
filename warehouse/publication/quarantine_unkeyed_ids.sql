-- Resident IDs named in the quarantine (members' record keys) that core.person_keys has not
-- keyed: IDs of rows that never reached core. Grain: one row per ID.
SELECT DISTINCT q.record_key AS id_number
FROM wh.audit.quarantine q
ANTI JOIN wh.core.person_keys k ON k.id_number = q.record_key
WHERE q.entity = 'members' AND q.record_key IS NOT NULL;
