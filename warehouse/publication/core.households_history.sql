-- core.households_history as the snapshot publishes it. Grain: one row per household
-- version. The head's resident ID is published as head_key (the key the load stored beside
-- it), the head's name not at all, the other causes as a list (contract/publication.py).
SELECT * EXCLUDE (head_id_number, head_name, head_key)
         REPLACE (string_split(other_causes, ';') AS other_causes),
       head_key
FROM wh.core.households_history;
