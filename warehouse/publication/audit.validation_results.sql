-- audit.validation_results as the snapshot publishes it. Grain: one row per (delivery date,
-- suite, expectation). Sample keys, which name persons by their resident ID, are not
-- published (contract/publication.py).
SELECT * EXCLUDE (sample_keys) FROM wh.audit.validation_results;
