-- What the warehouse's person keys were made with (warehouse/secret.py).
CREATE SCHEMA IF NOT EXISTS meta;

-- Grain: one row (none until the first load under this release): the fingerprint of the
-- pseudonymisation secret that core.person_keys was computed with, and the load that
-- recorded it. Never changed afterwards.
CREATE TABLE meta.pseudonym_secret (
    fingerprint     VARCHAR NOT NULL,
    run_id          VARCHAR NOT NULL,
    loaded_at       TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);
COMMENT ON TABLE meta.pseudonym_secret IS 'Grain: one row. The fingerprint of the pseudonymisation secret core.person_keys was made with, recorded by the first load; a run whose secret has another fingerprint stops before writing anything (docs/runbook.md).';
COMMENT ON COLUMN meta.pseudonym_secret.fingerprint IS 'Hex HMAC-SHA256 of a fixed label under the secret: equal for equal secrets, and of no use without the secret.';
COMMENT ON COLUMN meta.pseudonym_secret.run_id IS 'The run whose load recorded it.';
COMMENT ON COLUMN meta.pseudonym_secret.loaded_at IS 'When that load recorded it.';
