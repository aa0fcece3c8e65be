-- Record the fingerprint of the secret, once: the first load's stays.
INSERT INTO meta.pseudonym_secret (fingerprint, run_id)
SELECT $fingerprint, $run_id
WHERE NOT EXISTS (SELECT 1 FROM meta.pseudonym_secret);
