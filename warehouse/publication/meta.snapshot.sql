-- meta.snapshot: what the snapshot holds. Grain: one row: the as-of delivery date, the
-- schema version (contract/publication.py), every delivery date included, the code version
-- of the latest successful load, the publishing run and time.
SELECT $as_of::DATE AS as_of_date,
       $schema_version::INTEGER AS schema_version,
       (SELECT list(DISTINCT delivery_date ORDER BY delivery_date) FROM wh.audit.runs
        WHERE state = 'success') AS deliveries_included,
       (SELECT code_version FROM wh.audit.runs WHERE state = 'success'
        ORDER BY loaded_at DESC LIMIT 1) AS code_version,
       $run_id AS run_id,
       current_timestamp AS published_at;
