-- Schemas and the pipeline's own record (audit).
CREATE SCHEMA IF NOT EXISTS ref;
CREATE SCHEMA IF NOT EXISTS core;
CREATE SCHEMA IF NOT EXISTS marts;
CREATE SCHEMA IF NOT EXISTS audit;

-- Grain: one row per pipeline run attempt.
CREATE TABLE audit.runs (
    run_id          VARCHAR NOT NULL,
    delivery_date   DATE NOT NULL,
    started_at      TIMESTAMPTZ NOT NULL,
    loaded_at       TIMESTAMPTZ NOT NULL,
    code_version    VARCHAR,
    files           INTEGER,
    files_held      INTEGER,
    rows_received   BIGINT,
    rows_applied    BIGINT,
    rows_held       BIGINT,
    summary         JSON,
    PRIMARY KEY (run_id, loaded_at)
);

-- Grain: one row per delivered file (per delivery date and file name).
CREATE TABLE audit.files (
    delivery_date   DATE NOT NULL,
    file_name       VARCHAR NOT NULL,
    entity          VARCHAR,
    source          VARCHAR,
    format          VARCHAR,
    encoding        VARCHAR,
    delimiter       VARCHAR,
    size_bytes      BIGINT,
    sha256          VARCHAR,
    rows            BIGINT,
    outcome         VARCHAR NOT NULL,
    reason          VARCHAR,
    detail          VARCHAR,
    run_id          VARCHAR,
    PRIMARY KEY (delivery_date, file_name)
);

-- Grain: one row per delivered row that was not simply applied (or a whole held file
-- whose rows could not be read: row_number NULL).
CREATE TABLE audit.quarantine (
    delivery_date   DATE NOT NULL,
    file_name       VARCHAR NOT NULL,
    entity          VARCHAR NOT NULL,
    row_number      BIGINT,
    record_key      VARCHAR,
    outcome         VARCHAR NOT NULL,
    reason          VARCHAR NOT NULL,
    detail          VARCHAR,
    applied_on      DATE
);

-- Grain: one row per delivered file: the rows of the file and what became of them.
CREATE TABLE audit.reconciliation (
    delivery_date   DATE NOT NULL,
    file_name       VARCHAR NOT NULL,
    entity          VARCHAR,
    received        BIGINT NOT NULL,
    applied         BIGINT NOT NULL,
    stale           BIGINT NOT NULL,
    duplicate       BIGINT NOT NULL,
    parked          BIGINT NOT NULL,
    held            BIGINT NOT NULL,
    warned          BIGINT NOT NULL,
    PRIMARY KEY (delivery_date, file_name)
);

-- Grain: one row per (delivery date, suite, expectation).
CREATE TABLE audit.validation_results (
    delivery_date   DATE NOT NULL,
    entity          VARCHAR NOT NULL,
    suite           VARCHAR NOT NULL,
    suite_version   VARCHAR,
    expectation     VARCHAR NOT NULL,
    severity        VARCHAR NOT NULL,
    evaluated       BIGINT,
    failed          BIGINT,
    sample_keys     VARCHAR[],
    PRIMARY KEY (delivery_date, suite, expectation)
);
