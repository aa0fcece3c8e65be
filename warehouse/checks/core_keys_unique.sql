-- One row per key in every core table that has one (the tables carry no key index: the
-- transform gives one row per key, and this proves it).
SELECT 'core.villages' AS t, village_code AS k FROM core.villages GROUP BY ALL HAVING count(*) > 1
UNION ALL
SELECT 'core.households', household_id FROM core.households GROUP BY ALL HAVING count(*) > 1
UNION ALL
SELECT 'core.members', id_number FROM core.members GROUP BY ALL HAVING count(*) > 1
UNION ALL
SELECT 'core.assistance', event_id FROM core.assistance GROUP BY ALL HAVING count(*) > 1
UNION ALL
-- One resident ID per person key, over every ID the core tables key (a hash collision, or a
-- bug, would merge two persons in the snapshot). In two steps, as grouping 120 M (ID, key)
-- pairs by their text takes a minute at national scale: the candidates are the keys whose
-- rows carry more than one ID, found by the 64-bit hashes of both (an ID and a NULL hash
-- apart too); then the pairs of the candidates alone are grouped by their text, so a hash
-- shared by two keys reports nothing. Two IDs under one key escape the first step only if
-- their hashes are equal as well.
SELECT 'person_key', person_key
FROM (
    WITH hashed AS (
        SELECT hash(person_key) AS k, hash(id_number) AS i FROM core.members
        UNION ALL
        SELECT hash(head_key), hash(head_id_number) FROM core.households_history
        WHERE head_key IS NOT NULL
    ),
    candidates AS (SELECT k FROM hashed GROUP BY k HAVING min(i) <> max(i))
    SELECT id_number, person_key FROM core.members
    WHERE hash(person_key) IN (SELECT k FROM candidates)
    UNION
    SELECT head_id_number, head_key FROM core.households_history
    WHERE hash(head_key) IN (SELECT k FROM candidates)
)
WHERE person_key IS NOT NULL
GROUP BY ALL HAVING count(*) > 1
UNION ALL
SELECT 'core.targets', concat_ws('|', year, province_code, metric)
FROM core.targets GROUP BY ALL HAVING count(*) > 1
