-- Reference data with provenance, copied into the repository (warehouse/ref/*.csv).
CREATE TABLE ref.poverty_lines (
    year                    INTEGER PRIMARY KEY,
    line_yuan_per_person    INTEGER NOT NULL,
    basis                   VARCHAR,
    confidence              VARCHAR,
    note                    VARCHAR
);
CREATE TABLE ref.provinces (
    province_code           VARCHAR PRIMARY KEY,
    name_en                 VARCHAR,
    name_zh                 VARCHAR,
    region                  VARCHAR,
    western_exit_rule       BOOLEAN,
    has_poverty_counties    BOOLEAN,
    poverty_counties_832    INTEGER,
    poor_2013_10k           INTEGER,
    poor_2013_confidence    VARCHAR
);
CREATE TABLE ref.national_poverty (
    year                INTEGER PRIMARY KEY,
    rural_poor_10k      INTEGER,
    reduction_10k       INTEGER,
    incidence_pct       DOUBLE,
    source_confidence   VARCHAR,
    source              VARCHAR
);
CREATE TABLE ref.registry_2014 (
    metric      VARCHAR PRIMARY KEY,
    value       DOUBLE,
    confidence  VARCHAR,
    source      VARCHAR
);
-- Default targets; a delivered target (core.targets) replaces its default.
CREATE TABLE ref.targets (
    year            INTEGER NOT NULL,
    province_code   VARCHAR NOT NULL,
    metric          VARCHAR NOT NULL,
    target          BIGINT NOT NULL,
    source          VARCHAR,
    PRIMARY KEY (year, province_code, metric)
);
