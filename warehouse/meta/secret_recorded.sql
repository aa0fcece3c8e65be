-- The fingerprint the warehouse records, with the load that recorded it (at most one row).
SELECT fingerprint, run_id, loaded_at
FROM meta.pseudonym_secret;
