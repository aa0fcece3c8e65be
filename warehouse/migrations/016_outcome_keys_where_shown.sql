-- state.row_outcomes keeps a row's record key only where something reads it: on the rows
-- not applied, which audit.quarantine lists with their keys. An applied row's key stays in
-- staging (and in the core row the row became); writing it again took 0.5 s of this
-- table's 1.7 s in the province's day-one load.
--
-- Rows already there keep their keys until the next load rewrites the table: the first run
-- after an upgrade takes the full path (its code hash differs from the last run's), which
-- replaces state.row_outcomes whole.

COMMENT ON COLUMN state.row_outcomes.record_key IS 'The row''s record key (its entity''s key in contract/landing.py) when the row was not applied, as audit.quarantine shows it; NULL on applied rows and when typing could not read the key.';
