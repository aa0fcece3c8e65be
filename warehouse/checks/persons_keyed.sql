-- A resident ID without its person key, or a key without an ID, in a core table that
-- stores both: the load keys every row it writes (contract/pseudonym.py), so there is
-- none. Publish refuses a warehouse that fails this (it would publish a NULL key).
-- core.households, a view of the history's current versions, shows the history's keys.
SELECT 'core.members' AS t, id_number AS id FROM core.members
WHERE (id_number IS NULL) <> (person_key IS NULL)
UNION ALL
SELECT 'core.households_history', household_id FROM core.households_history
WHERE (head_id_number IS NULL) <> (head_key IS NULL)
