-- The state the household-level marts are computed from (docs/architecture.md, "The
-- incremental night"; docs/marts.md): poverty_stock and programme_coverage read the
-- households' version steps summed per (village, date), deprivation and causes read counts
-- of households per cell of what they group by, as of the latest as_of date. Every load
-- writes them (warehouse/mart_state.py): the full path from every household, the
-- incremental path by subtracting what the affected households, and the households whose
-- record or ages the move of the latest as_of date changes, contributed before and adding
-- what they contribute now. Sums of integers and of DECIMAL(38,15) terms, so both paths
-- leave the same rows; a row whose measures are all 0 is left out on both. Internal: never
-- published.
--
-- A warehouse upgraded by this migration has these tables empty: its next run takes the
-- full path (its code hash differs from the last run's anyway) and fills them.

CREATE TABLE state.mart_as_of (
    as_of_date      DATE
);
COMMENT ON TABLE state.mart_as_of IS 'Grain: one row, written by every load. The latest as_of date (the latest delivery date of a successful load, audit.runs) that state.mart_deprivation_cells and state.mart_cause_cells hold the households as of; NULL before any load succeeded. No row: those tables were never filled (a warehouse just upgraded), and the next load computes them from every household.';
COMMENT ON COLUMN state.mart_as_of.as_of_date IS 'Latest as_of date, Asia/Shanghai: household records as of the end of that day, ages at that date.';

CREATE TABLE state.mart_household_steps (
    village_code                VARCHAR,
    step_date                   DATE NOT NULL,
    households_poor             BIGINT NOT NULL,
    households_lifted           BIGINT NOT NULL,
    households_returned         BIGINT NOT NULL,
    households_removed          BIGINT NOT NULL,
    people_poor                 BIGINT NOT NULL,
    people_lifted               BIGINT NOT NULL,
    people_returned             BIGINT NOT NULL,
    people_removed              BIGINT NOT NULL,
    fgt_people                  BIGINT NOT NULL,
    fgt_poor_people             BIGINT NOT NULL,
    fgt_gap                     DECIMAL(38,15) NOT NULL,
    fgt_gap_sq                  DECIMAL(38,15) NOT NULL,
    fgt_watts                   DECIMAL(38,15) NOT NULL,
    households_selling_online   BIGINT NOT NULL
);
COMMENT ON TABLE state.mart_household_steps IS 'Grain: one row per (village_code, step_date) where the households'' measures change. Each version of a household is a span of dates [effective_date, earliest effective date of a later version) of core.households_history; it adds its measures on the first day and takes them away on the last. A row is the sum of the steps of every household of the village on that date; rows whose measures are all 0 are left out. The running sum up to a date is the village''s households as of the end of that date (marts.poverty_stock, marts.programme_coverage). Measures as in marts.poverty_stock; a NULL term counts 0.';
COMMENT ON COLUMN state.mart_household_steps.village_code IS 'Village of the household versions (core.households_history.village_code).';
COMMENT ON COLUMN state.mart_household_steps.step_date IS 'Date the change takes effect: a version''s effective date (adds it) or the effective date of the next version in force (takes it away).';
COMMENT ON COLUMN state.mart_household_steps.households_poor IS 'Change in households with status poor, households.';
COMMENT ON COLUMN state.mart_household_steps.households_lifted IS 'Change in households with status lifted, households.';
COMMENT ON COLUMN state.mart_household_steps.households_returned IS 'Change in households with status returned, households.';
COMMENT ON COLUMN state.mart_household_steps.households_removed IS 'Change in households with status removed, households.';
COMMENT ON COLUMN state.mart_household_steps.people_poor IS 'Change in people (household_size) in households with status poor.';
COMMENT ON COLUMN state.mart_household_steps.people_lifted IS 'Change in people in households with status lifted.';
COMMENT ON COLUMN state.mart_household_steps.people_returned IS 'Change in people in households with status returned.';
COMMENT ON COLUMN state.mart_household_steps.people_removed IS 'Change in people in households with status removed.';
COMMENT ON COLUMN state.mart_household_steps.fgt_people IS 'Change in people of poor-stock households (poor or returned) with a per-capita income and a poverty line for its income year.';
COMMENT ON COLUMN state.mart_household_steps.fgt_poor_people IS 'Change in those people whose per-capita income y is below the line z.';
COMMENT ON COLUMN state.mart_household_steps.fgt_gap IS 'Change in the sum of people x round((z - y) / z, 15) over y < z.';
COMMENT ON COLUMN state.mart_household_steps.fgt_gap_sq IS 'Change in the sum of people x round(((z - y) / z)^2, 15) over y < z.';
COMMENT ON COLUMN state.mart_household_steps.fgt_watts IS 'Change in the sum of people x round(ln(z / y), 15) over y < z, incomes <= 0 bottom-coded to 1 yuan.';
COMMENT ON COLUMN state.mart_household_steps.households_selling_online IS 'Change in households selling online (sells_online) with a status other than removed.';

CREATE TABLE state.mart_deprivation_cells (
    province_code   VARCHAR,
    household_size  INTEGER,
    food_clothing   BOOLEAN NOT NULL,
    education       BOOLEAN NOT NULL,
    medical         BOOLEAN NOT NULL,
    housing         BOOLEAN NOT NULL,
    water           BOOLEAN NOT NULL,
    income_poor     BOOLEAN,
    households      BIGINT NOT NULL
);
COMMENT ON TABLE state.mart_deprivation_cells IS 'Grain: one row per (province_code, household_size, the five indicators, income_poor) that holds a household. The poor stock (status poor or returned) in the record in force at the end of state.mart_as_of, counted by what marts.deprivation reads of a household; members as currently known (core.members, active ones), ages at that date.';
COMMENT ON COLUMN state.mart_deprivation_cells.province_code IS 'First two digits of the village code of the record in force.';
COMMENT ON COLUMN state.mart_deprivation_cells.household_size IS 'household_size of the record in force (the weight of the household), people.';
COMMENT ON COLUMN state.mart_deprivation_cells.food_clothing IS 'Food and clothing not secure.';
COMMENT ON COLUMN state.mart_deprivation_cells.education IS 'An active member aged 6-15 at the as_of date out of school.';
COMMENT ON COLUMN state.mart_deprivation_cells.medical IS 'An active member not medically insured.';
COMMENT ON COLUMN state.mart_deprivation_cells.housing IS 'Housing not safe.';
COMMENT ON COLUMN state.mart_deprivation_cells.water IS 'Drinking water not safe.';
COMMENT ON COLUMN state.mart_deprivation_cells.income_poor IS 'Per-capita income below the line of its income year; NULL without an income or a line.';
COMMENT ON COLUMN state.mart_deprivation_cells.households IS 'Households of the cell.';

CREATE TABLE state.mart_cause_cells (
    province_code   VARCHAR,
    role            VARCHAR NOT NULL,
    cause           VARCHAR,
    poor_stock      BOOLEAN NOT NULL,
    household_size  INTEGER,
    households      BIGINT NOT NULL
);
COMMENT ON TABLE state.mart_cause_cells IS 'Grain: one row per (province_code, role, cause, poor_stock, household_size) that holds a household. The registered households (status poor, lifted or returned) in the record in force at the end of state.mart_as_of, counted by what marts.causes reads of a household.';
COMMENT ON COLUMN state.mart_cause_cells.province_code IS 'First two digits of the village code of the record in force.';
COMMENT ON COLUMN state.mart_cause_cells.role IS 'main: the household''s main cause (one row per household); other: one of its other causes (a row per cause named in other_causes).';
COMMENT ON COLUMN state.mart_cause_cells.cause IS 'Cause code; NULL for households without a main cause (role main), which count among the registered households.';
COMMENT ON COLUMN state.mart_cause_cells.poor_stock IS 'Status poor or returned.';
COMMENT ON COLUMN state.mart_cause_cells.household_size IS 'household_size of the record in force, people.';
COMMENT ON COLUMN state.mart_cause_cells.households IS 'Households of the cell (for role other: mentions of the cause).';
