-- The keys the core tables store for the resident IDs the quarantine names (members' record
-- keys): the persons a core table holds. Grain: one row per resident ID.
SELECT DISTINCT k.id_number, k.person_key
FROM (
    SELECT id_number, person_key FROM wh.core.members
    UNION ALL
    SELECT head_id_number, head_key FROM wh.core.households_history
) k
WHERE k.id_number IN (SELECT record_key FROM wh.audit.quarantine WHERE entity = 'members');
