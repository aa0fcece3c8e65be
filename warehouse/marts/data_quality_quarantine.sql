-- Grain: one row per (delivery_date, entity, outcome, reason).
-- Data quality, DHIS2-style: counts of audit.quarantine, the rows not simply applied and
-- the applied rows that loaded with a warning.
CREATE OR REPLACE TABLE marts.data_quality_quarantine AS
SELECT delivery_date, entity, outcome, reason,
       count(*) AS records, count(DISTINCT file_name) AS files
FROM audit.quarantine
GROUP BY ALL;

COMMENT ON TABLE marts.data_quality_quarantine IS 'Grain: one row per (delivery_date, entity, outcome, reason). Counts of audit.quarantine: rows not simply applied (held, conflict, stale, duplicate, parked) and applied rows that loaded with a warning (warned). Reason codes: docs/reason_codes.md.';
COMMENT ON COLUMN marts.data_quality_quarantine.delivery_date IS 'Delivery date of the rows (Asia/Shanghai).';
COMMENT ON COLUMN marts.data_quality_quarantine.entity IS 'villages, households, members, assistance or targets (unknown for a file whose name says none).';
COMMENT ON COLUMN marts.data_quality_quarantine.outcome IS 'held, conflict, stale, duplicate, parked or warned.';
COMMENT ON COLUMN marts.data_quality_quarantine.reason IS 'Reason code (contract/reasons.py); for a warned row its first reason.';
COMMENT ON COLUMN marts.data_quality_quarantine.records IS 'Quarantine entries: delivered rows, or 1 per held file whose rows could not be read.';
COMMENT ON COLUMN marts.data_quality_quarantine.files IS 'Distinct files these entries come from.';
