-- meta.snapshot: what the snapshot holds. Grain: one row: the as-of delivery date, the
-- schema version (contract/publication.py), every delivery date included, the code version
-- and commit time of the latest successful load, the publishing run and time, and how the
-- snapshot was written (full, or by delta from the previous one).
SELECT $as_of::DATE AS as_of_date,
       $schema_version::INTEGER AS schema_version,
       (SELECT list(DISTINCT delivery_date ORDER BY delivery_date) FROM wh.audit.runs
        WHERE state = 'success') AS deliveries_included,
       (SELECT code_version FROM wh.audit.runs WHERE state = 'success'
        ORDER BY loaded_at DESC LIMIT 1) AS code_version,
       $run_id AS run_id,
       current_timestamp AS published_at,
       (SELECT max(loaded_at) FROM wh.audit.runs WHERE state = 'success') AS loaded_at,
       $publish_mode AS publish_mode,
       $deltas_since_full::INTEGER AS deltas_since_full;
