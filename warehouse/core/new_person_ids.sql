-- Resident IDs of household heads (every version) and members that core.person_keys has
-- not keyed yet. Grain: one row per ID.
SELECT DISTINCT s.id
FROM (
    SELECT head_id_number AS id FROM core.households_history
    UNION ALL
    SELECT id_number AS id FROM core.members
) s
ANTI JOIN core.person_keys k ON k.id_number = s.id
WHERE s.id IS NOT NULL;
