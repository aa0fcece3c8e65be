-- A run attempt's outcome: 'success' (loaded) or 'failed' (recorded by the failure
-- callback; nothing else changed), and the message that was logged and emailed.
ALTER TABLE audit.runs ADD COLUMN state VARCHAR DEFAULT 'success';
ALTER TABLE audit.runs ADD COLUMN message VARCHAR;
COMMENT ON TABLE audit.runs IS 'Grain: one row per run attempt that loaded (state success) or failed (state failed). The pipeline''s own record: run ids and times differ between reruns.';

-- Where the file lies, relative to the landing root: <delivery date>/<file name>.
ALTER TABLE audit.files ADD COLUMN path VARCHAR;
