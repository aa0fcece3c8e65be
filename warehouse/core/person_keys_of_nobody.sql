-- Removes the keys of IDs that no head (any version) and no member holds any more: a date
-- re-run that no longer delivers them, or a row that an earlier run applied and a later
-- delivery has held. core.person_keys then holds exactly the persons of the core tables,
-- whatever order the dates ran in. Grain of core.person_keys: one row per resident ID.
DELETE FROM core.person_keys k
WHERE NOT EXISTS (SELECT 1 FROM core.members m WHERE m.id_number = k.id_number)
  AND NOT EXISTS (
      SELECT 1 FROM core.households_history h WHERE h.head_id_number = k.id_number
  );
