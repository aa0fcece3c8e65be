-- core.households_history as the snapshot publishes it. Grain: one row per household
-- version. The head's resident ID is published as head_key, the head's name not at all,
-- the other causes as a list (contract/publication.py).
SELECT h.* EXCLUDE (head_id_number, head_name)
           REPLACE (string_split(h.other_causes, ';') AS other_causes),
       k.person_key AS head_key
FROM wh.core.households_history h
LEFT JOIN wh.core.person_keys k ON k.id_number = h.head_id_number;
