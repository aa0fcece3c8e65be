-- Each person's key is stored beside their resident ID in the core tables, computed as the
-- load writes the rows (contract/pseudonym.py), so publishing copies it instead of joining
-- every ID to a table of keys; core.person_keys, that table, goes.
--
-- A migration cannot compute a key (it has no secret): the rows already here keep a NULL
-- key until the load that applies this migration rewrites every core table in the same
-- transaction. Should anything else apply it first (the record of a failed run), publish
-- refuses a warehouse that holds an ID without its key (checks/persons_keyed.sql).

ALTER TABLE core.members ADD COLUMN person_key VARCHAR;
ALTER TABLE core.households ADD COLUMN head_key VARCHAR;
ALTER TABLE core.households_history ADD COLUMN head_key VARCHAR;

COMMENT ON COLUMN core.members.person_key IS 'Keyed hash (HMAC-SHA256 under the pseudonymisation secret, 32 hex) of id_number, computed by the load; published as person_key. Not PII without the secret; internal like the rest of the table.';
COMMENT ON COLUMN core.households.head_key IS 'Keyed hash (HMAC-SHA256 under the pseudonymisation secret, 32 hex) of head_id_number, computed by the load; published as head_key. NULL when head_id_number is.';
COMMENT ON COLUMN core.households_history.head_key IS 'Keyed hash (HMAC-SHA256 under the pseudonymisation secret, 32 hex) of head_id_number, computed by the load; published as head_key. NULL when head_id_number is.';

DROP TABLE core.person_keys;

COMMENT ON TABLE meta.pseudonym_secret IS 'Grain: one row. The fingerprint of the pseudonymisation secret the person keys of the core tables (core.members.person_key, core.households.head_key, core.households_history.head_key) are made with, recorded by the first load; a run whose secret has another fingerprint stops before writing anything (docs/runbook.md).';
