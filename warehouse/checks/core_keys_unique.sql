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
-- bug, would merge two persons in the snapshot).
SELECT 'person_key', person_key
FROM (
    SELECT id_number, person_key FROM core.members
    UNION
    SELECT head_id_number, head_key FROM core.households_history
)
WHERE person_key IS NOT NULL
GROUP BY ALL HAVING count(*) > 1
UNION ALL
SELECT 'core.targets', concat_ws('|', year, province_code, metric)
FROM core.targets GROUP BY ALL HAVING count(*) > 1
