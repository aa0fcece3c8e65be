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
SELECT 'core.person_keys', id_number FROM core.person_keys GROUP BY ALL HAVING count(*) > 1
UNION ALL
SELECT 'core.person_keys (person_key)', person_key FROM core.person_keys GROUP BY ALL HAVING count(*) > 1
UNION ALL
SELECT 'core.targets', concat_ws('|', year, province_code, metric)
FROM core.targets GROUP BY ALL HAVING count(*) > 1
