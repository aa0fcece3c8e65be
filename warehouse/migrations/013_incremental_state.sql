-- The state an incremental night reads and replaces in place (docs/architecture.md, "The
-- incremental night"): every delivered row's outcome, the findings on delivered rows, and
-- the components of the person-household graph. The full path writes the same tables, so
-- povdb verify compares them with the reference rebuild like every other table. Internal:
-- never published.
--
-- A warehouse upgraded by this migration has these tables empty: its next run takes the
-- full path (its code hash differs from the last run's anyway) and fills them.

CREATE SCHEMA IF NOT EXISTS state;

CREATE TABLE state.row_outcomes (
    entity          VARCHAR NOT NULL,
    delivery_date   DATE NOT NULL,
    file_name       VARCHAR NOT NULL,
    row_number      BIGINT,
    record_key      VARCHAR,
    household_id    VARCHAR,
    judged_by       VARCHAR NOT NULL,
    outcome         VARCHAR NOT NULL,
    reason          VARCHAR,
    detail          VARCHAR,
    effective_date  DATE
);
COMMENT ON TABLE state.row_outcomes IS 'Grain: one row per delivered row that reached staging or was held by typing or validation (entity, delivery_date, file_name, row_number). Internal state of the incremental night; audit.quarantine and audit.reconciliation are built from it.';
COMMENT ON COLUMN state.row_outcomes.entity IS 'Entity of the delivered file (villages, households, members, assistance, targets).';
COMMENT ON COLUMN state.row_outcomes.delivery_date IS 'Delivery date of the file the row came in.';
COMMENT ON COLUMN state.row_outcomes.file_name IS 'Name of the delivered file.';
COMMENT ON COLUMN state.row_outcomes.row_number IS 'Row number within the file (1 = first data row).';
COMMENT ON COLUMN state.row_outcomes.record_key IS 'The row''s record key (LANDING_CONTRACT key), NULL when typing could not read it.';
COMMENT ON COLUMN state.row_outcomes.household_id IS 'Household the row was delivered in (household and member rows typing could read): which component the row belongs to. NULL for other entities.';
COMMENT ON COLUMN state.row_outcomes.judged_by IS 'staging: held by typing or validation (replaced when its date runs again); transform: judged by the key and cross-entity rules (replaced with its household''s component).';
COMMENT ON COLUMN state.row_outcomes.outcome IS 'applied, stale, duplicate, parked, conflict or held.';
COMMENT ON COLUMN state.row_outcomes.reason IS 'Reason code of a row not applied (docs/reason_codes.md).';
COMMENT ON COLUMN state.row_outcomes.detail IS 'What was wrong, for rows held by typing or validation.';
COMMENT ON COLUMN state.row_outcomes.effective_date IS 'Date from which the row takes effect: its delivery date, or the date its parent arrives for a parked row; NULL when it never does.';

CREATE TABLE state.row_findings (
    entity          VARCHAR NOT NULL,
    delivery_date   DATE NOT NULL,
    file_name       VARCHAR NOT NULL,
    row_number      BIGINT,
    record_key      VARCHAR,
    household_id    VARCHAR,
    found_by        VARCHAR NOT NULL,
    reason          VARCHAR NOT NULL,
    detail          VARCHAR
);
COMMENT ON TABLE state.row_findings IS 'Grain: one row per warning on a delivered row (a row may have several). Internal state of the incremental night; the warned rows of audit.quarantine are built from it.';
COMMENT ON COLUMN state.row_findings.entity IS 'Entity of the delivered file.';
COMMENT ON COLUMN state.row_findings.delivery_date IS 'Delivery date of the file the row came in.';
COMMENT ON COLUMN state.row_findings.file_name IS 'Name of the delivered file.';
COMMENT ON COLUMN state.row_findings.row_number IS 'Row number within the file (1 = first data row).';
COMMENT ON COLUMN state.row_findings.record_key IS 'The row''s record key.';
COMMENT ON COLUMN state.row_findings.household_id IS 'Household of a cross-entity finding (its component), else NULL.';
COMMENT ON COLUMN state.row_findings.found_by IS 'validation (replaced when its date runs again), cross (household rules, replaced with the household''s component) or income (county income outliers, recomputed by every load).';
COMMENT ON COLUMN state.row_findings.reason IS 'Reason code (docs/reason_codes.md).';
COMMENT ON COLUMN state.row_findings.detail IS 'What was found.';

CREATE TABLE state.components (
    household_id    VARCHAR NOT NULL,
    component       VARCHAR NOT NULL
);
COMMENT ON TABLE state.components IS 'Grain: one row per household of a component of more than one household (a person delivered in several households joins them; held rows count). A household not listed is a component of its own. An incremental run replaces the rows of every component a delivery touches.';
COMMENT ON COLUMN state.components.household_id IS 'Household id.';
COMMENT ON COLUMN state.components.component IS 'The smallest household id of its component.';

ALTER TABLE audit.runs ADD COLUMN load_path VARCHAR;
ALTER TABLE audit.runs ADD COLUMN load_path_reason VARCHAR;
ALTER TABLE audit.runs ADD COLUMN affected_households BIGINT;
ALTER TABLE audit.runs ADD COLUMN code_hash VARCHAR;
COMMENT ON COLUMN audit.runs.load_path IS 'full (every derived table rebuilt from staging) or incremental (the rows of the components the delivery touched replaced in place).';
COMMENT ON COLUMN audit.runs.load_path_reason IS 'Why the run took its path (docs/runbook.md, "Full and incremental runs").';
COMMENT ON COLUMN audit.runs.affected_households IS 'Households whose rows an incremental run replaced; NULL on the full path.';
COMMENT ON COLUMN audit.runs.code_hash IS 'Hash of the code, SQL, suites, migrations and reference data that derive the warehouse; a run whose hash differs from the last successful run''s takes the full path.';
