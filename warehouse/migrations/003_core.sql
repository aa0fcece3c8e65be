-- Core state. Every table carries the lineage of the version it holds: the delivery
-- date, file and row it came from, and the date it took effect (a parked row takes
-- effect when its parent arrives).

-- Grain: one row per village code (current version).
CREATE TABLE core.villages (
    village_code            VARCHAR PRIMARY KEY,
    province_code           VARCHAR NOT NULL,
    county_code             VARCHAR NOT NULL,
    village_name            VARCHAR,
    is_poor_village         BOOLEAN,
    rural_population        BIGINT,
    collective_income_yuan  DECIMAL(18,2),
    has_ecommerce_station   BOOLEAN,
    ecommerce_pilot_year    INTEGER,
    solar_capacity_kw       DOUBLE,
    paper_mulberry_mu       DOUBLE,
    updated_at              TIMESTAMPTZ,
    delivery_date           DATE,
    file_name               VARCHAR,
    row_number              BIGINT,
    effective_date          DATE
);

-- Grain: one row per household id (current version). head_id_number and head_name are
-- PII: they stay in the internal warehouse and are never published.
CREATE TABLE core.households (
    household_id            VARCHAR PRIMARY KEY,
    village_code            VARCHAR NOT NULL,
    province_code           VARCHAR NOT NULL,
    county_code             VARCHAR NOT NULL,
    head_id_number          VARCHAR,
    head_name               VARCHAR,
    household_size          INTEGER,
    attribute               VARCHAR,
    main_cause              VARCHAR,
    other_causes            VARCHAR,
    net_income_yuan         DECIMAL(18,2),
    per_capita_income_yuan  DECIMAL(18,2),
    income_year             INTEGER,
    food_clothing_secure    BOOLEAN,
    housing_safe            BOOLEAN,
    drinking_water_safe     BOOLEAN,
    status                  VARCHAR,
    identified_on           DATE,
    status_changed_on       DATE,
    sells_online            BOOLEAN,
    updated_at              TIMESTAMPTZ,
    delivery_date           DATE,
    file_name               VARCHAR,
    row_number              BIGINT,
    effective_date          DATE
);

-- Grain: one row per household version, with its validity range [valid_from, valid_to).
CREATE TABLE core.households_history AS SELECT * FROM core.households WITH NO DATA;
ALTER TABLE core.households_history ADD COLUMN version INTEGER;
ALTER TABLE core.households_history ADD COLUMN valid_from TIMESTAMPTZ;
ALTER TABLE core.households_history ADD COLUMN valid_to TIMESTAMPTZ;
ALTER TABLE core.households_history ADD COLUMN is_current BOOLEAN;

-- Grain: one row per village version.
CREATE TABLE core.villages_history AS SELECT * FROM core.villages WITH NO DATA;
ALTER TABLE core.villages_history ADD COLUMN version INTEGER;
ALTER TABLE core.villages_history ADD COLUMN valid_from TIMESTAMPTZ;
ALTER TABLE core.villages_history ADD COLUMN valid_to TIMESTAMPTZ;
ALTER TABLE core.villages_history ADD COLUMN is_current BOOLEAN;

-- Grain: one row per status transition of a household.
CREATE TABLE core.status_events (
    household_id        VARCHAR NOT NULL,
    village_code        VARCHAR NOT NULL,
    province_code       VARCHAR NOT NULL,
    county_code         VARCHAR NOT NULL,
    from_status         VARCHAR,
    to_status           VARCHAR NOT NULL,
    event_date          DATE NOT NULL,
    people              INTEGER NOT NULL,
    is_exit_correction  BOOLEAN NOT NULL,
    updated_at          TIMESTAMPTZ,
    delivery_date       DATE,
    file_name           VARCHAR,
    row_number          BIGINT
);

-- Grain: one row per delivered target key (current version); replaces ref.targets.
CREATE TABLE core.targets (
    year            INTEGER NOT NULL,
    province_code   VARCHAR NOT NULL,
    metric          VARCHAR NOT NULL,
    target          BIGINT NOT NULL,
    delivery_date   DATE,
    file_name       VARCHAR,
    row_number      BIGINT,
    PRIMARY KEY (year, province_code, metric)
);

-- Grain: one row per resident ID ever seen. The keyed hash is computed once per person
-- and kept, so nightly runs hash only new people.
CREATE TABLE core.person_keys (
    id_number   VARCHAR PRIMARY KEY,
    person_key  VARCHAR NOT NULL UNIQUE
);

-- Grain: one row per person (resident ID; current version). id_number and name are PII.
CREATE TABLE core.members (
    id_number           VARCHAR PRIMARY KEY,
    household_id        VARCHAR NOT NULL,
    name                VARCHAR,
    relation            VARCHAR,
    sex                 VARCHAR,
    birth_date          DATE,
    education           VARCHAR,
    in_school           BOOLEAN,
    health              VARCHAR,
    labour              VARCHAR,
    medical_insured     BOOLEAN,
    member_status       VARCHAR,
    updated_at          TIMESTAMPTZ,
    delivery_date       DATE,
    file_name           VARCHAR,
    row_number          BIGINT,
    effective_date      DATE
);

-- Grain: one row per assistance event id (current version).
CREATE TABLE core.assistance (
    event_id            VARCHAR PRIMARY KEY,
    household_id        VARCHAR,
    village_code        VARCHAR,
    program             VARCHAR,
    platform            VARCHAR,
    event_date          DATE,
    amount_yuan         DECIMAL(18,2),
    updated_at          TIMESTAMPTZ,
    delivery_date       DATE,
    file_name           VARCHAR,
    row_number          BIGINT,
    effective_date      DATE
);

-- Grain: one row per exit (status event into lifted): each exit criterion and the verdict.
CREATE TABLE core.exit_checks (
    household_id            VARCHAR NOT NULL,
    village_code            VARCHAR NOT NULL,
    province_code           VARCHAR NOT NULL,
    county_code             VARCHAR NOT NULL,
    event_date              DATE NOT NULL,
    people                  INTEGER NOT NULL,
    per_capita_income_yuan  DECIMAL(18,2),
    income_year             INTEGER,
    poverty_line_yuan       DOUBLE,
    income_ok               BOOLEAN NOT NULL,
    food_clothing_ok        BOOLEAN NOT NULL,
    housing_ok              BOOLEAN NOT NULL,
    water_ok                BOOLEAN NOT NULL,
    education_ok            BOOLEAN NOT NULL,
    medical_ok              BOOLEAN NOT NULL,
    exit_year_ok            BOOLEAN NOT NULL,
    verified                BOOLEAN NOT NULL,
    failed_criteria         VARCHAR,
    delivery_date           DATE,
    file_name               VARCHAR,
    row_number              BIGINT
);
