-- Adds to the temp table quarantine_keys the kept keys of the persons the quarantine names.
-- Grain of quarantine_keys: one row per resident ID named in the quarantine.
INSERT INTO quarantine_keys
SELECT id_number, person_key FROM wh.core.person_keys
WHERE id_number IN (SELECT record_key FROM wh.audit.quarantine WHERE entity = 'members');
