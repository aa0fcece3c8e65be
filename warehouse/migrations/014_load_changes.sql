-- The households the latest load replaced, for the publish that follows it: a snapshot of
-- the previous load is brought up to date by replacing these households' rows
-- (docs/architecture.md, "Publish by delta"). A record of the last load, not data: the
-- reference rebuild leaves it empty and digests leave it out (warehouse/digest.py).
--
-- A warehouse upgraded by this migration has it empty: its next run takes the full path
-- (the code hash differs from the last run's) and publishes in full.

CREATE TABLE audit.load_changes (
    household_id    VARCHAR NOT NULL
);
COMMENT ON TABLE audit.load_changes IS 'Grain: one row per household whose rows the latest successful load replaced (incremental path); empty after a full load. Replaced by every load; the publish reads it to update the previous snapshot in place. Internal: never published.';
COMMENT ON COLUMN audit.load_changes.household_id IS 'Household id.';
