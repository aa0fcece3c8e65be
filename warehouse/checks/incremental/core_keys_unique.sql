-- core_keys_unique after an incremental load: the keys it wrote. Rows of households outside
-- the affected set (temp table affected) were there before, and unique; a duplicate needs
-- a key the load inserted, so each key of an inserted row is counted over the whole table.
-- The small tables are rewritten whole and checked whole.
SELECT 'core.villages' AS t, village_code AS k FROM core.villages GROUP BY ALL HAVING count(*) > 1
UNION ALL
SELECT 'core.households', household_id FROM core.households
WHERE household_id IN (SELECT household_id FROM affected)
GROUP BY ALL HAVING count(*) > 1
UNION ALL
SELECT 'core.members', id_number FROM core.members
WHERE id_number IN (
    SELECT id_number FROM core.members WHERE household_id IN (SELECT household_id FROM affected)
)
GROUP BY ALL HAVING count(*) > 1
UNION ALL
SELECT 'core.assistance', event_id FROM core.assistance GROUP BY ALL HAVING count(*) > 1
UNION ALL
SELECT 'person_key', person_key
FROM (
    -- Filtered before the UNION: the whole UNION of 120 M (ID, key) pairs would not fit
    -- beside an incremental load's transaction at national scale.
    WITH written AS (
        SELECT person_key AS k FROM core.members
        WHERE household_id IN (SELECT household_id FROM affected)
        UNION
        SELECT head_key FROM core.households_history
        WHERE household_id IN (SELECT household_id FROM affected)
    )
    SELECT id_number, person_key FROM core.members WHERE person_key IN (SELECT k FROM written)
    UNION
    SELECT head_id_number, head_key FROM core.households_history
    WHERE head_key IN (SELECT k FROM written)
)
GROUP BY ALL HAVING count(*) > 1
UNION ALL
SELECT 'core.targets', concat_ws('|', year, province_code, metric)
FROM core.targets GROUP BY ALL HAVING count(*) > 1
