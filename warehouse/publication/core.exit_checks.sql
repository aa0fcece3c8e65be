-- core.exit_checks as the snapshot publishes it. Grain: one row per exit (status event into
-- lifted). The failed criteria, comma-joined in the warehouse, as a list
-- (contract/publication.py).
SELECT * REPLACE (string_split(failed_criteria, ',') AS failed_criteria)
FROM wh.core.exit_checks;
