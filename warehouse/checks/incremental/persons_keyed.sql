-- persons_keyed after an incremental load: the rows it wrote (the affected households, temp
-- table affected); the others were keyed by the load that wrote them.
SELECT 'core.members' AS t, id_number AS id FROM core.members
WHERE household_id IN (SELECT household_id FROM affected)
  AND (id_number IS NULL) <> (person_key IS NULL)
UNION ALL
SELECT 'core.households_history', household_id FROM core.households_history
WHERE household_id IN (SELECT household_id FROM affected)
  AND (head_id_number IS NULL) <> (head_key IS NULL)
