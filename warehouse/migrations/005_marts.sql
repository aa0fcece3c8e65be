-- The marts analysts read first (docs/marts.md), and the county reference some of them use.
-- Every mart is rebuilt from all accepted deliveries by warehouse/marts/*.sql inside each
-- load transaction (DELETE + INSERT), so its content does not depend on the run order.
-- Dates are calendar dates in Asia/Shanghai; no column of a mart holds PII.
-- The key of each mart is stated in its grain and enforced by a post-load check
-- (warehouse/checks/marts_*_key_unique.sql) rather than a constraint, so a broken key fails
-- the run with a named check.

-- Grain: one row per county code. Third-party evaluation figures only where published;
-- an unknown figure is NULL (warehouse/ref/counties.csv, loaded by load_reference).
CREATE TABLE ref.counties (
    county_code                 VARCHAR PRIMARY KEY,
    name_en                     VARCHAR,
    name_zh                     VARCHAR,
    wrongful_exit_rate          DOUBLE,
    missed_identification_rate  DOUBLE,
    public_approval             DOUBLE,
    evaluation_year             INTEGER,
    source                      VARCHAR,
    confidence                  VARCHAR
);
COMMENT ON TABLE ref.counties IS 'Grain: one row per 6-digit county code. County names and third-party exit-evaluation figures with provenance; NULL where not known (the county exit rule then reports not_evaluated).';
COMMENT ON COLUMN ref.counties.county_code IS '6-digit county code (province 2 + prefecture 2 + county 2). Not PII.';
COMMENT ON COLUMN ref.counties.name_en IS 'County name in English. Not PII.';
COMMENT ON COLUMN ref.counties.name_zh IS 'County name in Chinese. Not PII.';
COMMENT ON COLUMN ref.counties.wrongful_exit_rate IS 'Third-party evaluation: share of exits found wrongful, fraction (0.02 = 2%); exit rule <= 0.02. NULL = not known.';
COMMENT ON COLUMN ref.counties.missed_identification_rate IS 'Third-party evaluation: share of poor households missed by identification, fraction; exit rule <= 0.02. NULL = not known.';
COMMENT ON COLUMN ref.counties.public_approval IS 'Third-party evaluation: public approval of the exit, fraction (0.90 = 90%); exit rule >= 0.90. NULL = not known.';
COMMENT ON COLUMN ref.counties.evaluation_year IS 'Calendar year of the third-party evaluation.';
COMMENT ON COLUMN ref.counties.source IS 'Where the figures were published.';
COMMENT ON COLUMN ref.counties.confidence IS 'verified / secondary / memory, as in shared/reference.';

-- marts.target_progress (004): the national target precedence is now explicit.
COMMENT ON TABLE marts.target_progress IS 'Grain: one row per (as_of_date, year, province_code); province_code 00 is the nation. People lifted out of poverty year-to-date (events of every accepted delivery, dated 1 January to as_of_date) against the target of marts.effective_targets. Provinces: every province with a target or a lifted/returned event dated in that year.';
COMMENT ON COLUMN marts.target_progress.as_of_date IS 'Processed delivery date (audit.runs, successful loads), Asia/Shanghai calendar date; figures count events dated on or before it.';
COMMENT ON COLUMN marts.target_progress.year IS 'Calendar year of as_of_date and of the target (Asia/Shanghai).';
COMMENT ON COLUMN marts.target_progress.province_code IS '2-digit province code; 00 = the nation (all provinces).';
COMMENT ON COLUMN marts.target_progress.target_people IS 'Target, people to lift in the year (marts.effective_targets, metric people_lifted): a province''s delivered target, else its reference default; national = delivered 00 target, else the sum of the provinces'' delivered targets, else the reference default 00. NULL where none.';
COMMENT ON COLUMN marts.target_progress.lifted_people IS 'People (household size on the exiting record) in exits (status events to lifted) dated from 1 January of year to as_of_date, from every accepted delivery whatever its date.';
COMMENT ON COLUMN marts.target_progress.verified_people IS 'Of lifted_people, those in exits that meet every exit criterion (core.exit_checks.verified), people.';
COMMENT ON COLUMN marts.target_progress.paper_exit_people IS 'Of lifted_people, those in paper exits (a criterion failed; listed in marts.exit_audit), people. verified + paper_exit = lifted.';
COMMENT ON COLUMN marts.target_progress.returned_people IS 'People in returns (status events to returned, including lifted -> poor corrections) dated from 1 January of year to as_of_date.';
COMMENT ON COLUMN marts.target_progress.net_people IS 'lifted_people - returned_people, people.';
COMMENT ON COLUMN marts.target_progress.pct_of_target IS '100 * net_people / target_people, percent; NULL without a target (or a target of 0).';
COMMENT ON COLUMN marts.target_progress.projected_year_end IS 'net_people * days in year / day of year of as_of_date (1 January = 1), people at the current run rate; NULL without a target.';
COMMENT ON COLUMN marts.target_progress.on_track IS 'projected_year_end >= target_people; NULL without a target.';

-- Grain: one row per (year, province_code, metric).
CREATE TABLE marts.effective_targets (
    year            INTEGER NOT NULL,
    province_code   VARCHAR NOT NULL,
    metric          VARCHAR NOT NULL,
    target          BIGINT NOT NULL,
    target_source   VARCHAR NOT NULL,
    delivered_on    DATE
);
COMMENT ON TABLE marts.effective_targets IS 'Grain: one row per (year, province_code, metric). The target in force: a province''s delivered target (core.targets, latest delivery wins), else its reference default (ref.targets); national (00) = the delivered 00 target, else the sum of the provinces'' delivered targets, else the reference default 00.';
COMMENT ON COLUMN marts.effective_targets.year IS 'Calendar year the target is for (cumulative targets: the deadline year).';
COMMENT ON COLUMN marts.effective_targets.province_code IS '2-digit province code; 00 = national.';
COMMENT ON COLUMN marts.effective_targets.metric IS 'people_lifted (people), ecommerce_pilot_villages (villages), ecommerce_villages_cumulative (villages).';
COMMENT ON COLUMN marts.effective_targets.target IS 'Target value, in the unit of the metric (people or villages).';
COMMENT ON COLUMN marts.effective_targets.target_source IS 'delivered (core.targets), sum_of_delivered_provinces (national only) or reference_default (ref.targets).';
COMMENT ON COLUMN marts.effective_targets.delivered_on IS 'Delivery date (Asia/Shanghai) of the delivered target; for a sum of provinces the latest of their delivery dates; NULL for a reference default.';

-- Grain: one row per (as_of_date, admin_level, admin_code).
CREATE TABLE marts.poverty_stock (
    as_of_date              DATE NOT NULL,
    admin_level             VARCHAR NOT NULL,
    admin_code              VARCHAR NOT NULL,
    households_poor         BIGINT NOT NULL,
    households_lifted       BIGINT NOT NULL,
    households_returned     BIGINT NOT NULL,
    households_removed      BIGINT NOT NULL,
    households_total        BIGINT NOT NULL,
    people_poor             BIGINT NOT NULL,
    people_lifted           BIGINT NOT NULL,
    people_returned         BIGINT NOT NULL,
    people_removed          BIGINT NOT NULL,
    people_total            BIGINT NOT NULL,
    villages                BIGINT NOT NULL,
    poor_villages           BIGINT NOT NULL,
    rural_population        BIGINT NOT NULL,
    poor_stock_people       BIGINT NOT NULL,
    incidence               DOUBLE,
    fgt_people              BIGINT NOT NULL,
    fgt_p0                  DOUBLE,
    fgt_p1                  DOUBLE,
    fgt_p2                  DOUBLE,
    fgt_watts               DOUBLE
);
COMMENT ON TABLE marts.poverty_stock IS 'Grain: one row per (as_of_date, admin_level, admin_code). Registered households and people by status as of the end of as_of_date (each household''s latest version that had taken effect by then), incidence and FGT/Watts measures over the poor stock (status poor or returned), person-weighted, each income against the line of its income year. nation/province/county rows for every as_of_date; township/village rows for the latest as_of_date and calendar month-end as_of_dates only.';
COMMENT ON COLUMN marts.poverty_stock.as_of_date IS 'Processed delivery date (audit.runs, successful loads), Asia/Shanghai; the state at the end of that day.';
COMMENT ON COLUMN marts.poverty_stock.admin_level IS 'nation, province, county, township or village.';
COMMENT ON COLUMN marts.poverty_stock.admin_code IS 'Code of the area: 00 (nation), 2-digit province, 6-digit county, 9-digit township, 12-digit village (prefixes of the village code).';
COMMENT ON COLUMN marts.poverty_stock.households_poor IS 'Households with status poor, households.';
COMMENT ON COLUMN marts.poverty_stock.households_lifted IS 'Households with status lifted, households.';
COMMENT ON COLUMN marts.poverty_stock.households_returned IS 'Households with status returned (fell back after an exit), households.';
COMMENT ON COLUMN marts.poverty_stock.households_removed IS 'Households with status removed (identified by mistake), households.';
COMMENT ON COLUMN marts.poverty_stock.households_total IS 'All registered households, every status, households.';
COMMENT ON COLUMN marts.poverty_stock.people_poor IS 'People (household_size) in households with status poor.';
COMMENT ON COLUMN marts.poverty_stock.people_lifted IS 'People (household_size) in households with status lifted.';
COMMENT ON COLUMN marts.poverty_stock.people_returned IS 'People (household_size) in households with status returned.';
COMMENT ON COLUMN marts.poverty_stock.people_removed IS 'People (household_size) in households with status removed.';
COMMENT ON COLUMN marts.poverty_stock.people_total IS 'People in all registered households, every status.';
COMMENT ON COLUMN marts.poverty_stock.villages IS 'Villages with a record as of the date, villages.';
COMMENT ON COLUMN marts.poverty_stock.poor_villages IS 'Of villages, those registered as poor villages (is_poor_village).';
COMMENT ON COLUMN marts.poverty_stock.rural_population IS 'Sum of the villages'' rural hukou population as of the date, people.';
COMMENT ON COLUMN marts.poverty_stock.poor_stock_people IS 'people_poor + people_returned: the remaining poor, people.';
COMMENT ON COLUMN marts.poverty_stock.incidence IS 'Poverty incidence, poor_stock_people / rural_population, fraction (0.02 = 2%); NULL when rural_population is 0.';
COMMENT ON COLUMN marts.poverty_stock.fgt_people IS 'People in poor-stock households (poor or returned) with a per-capita income and a poverty line for its income year: the population of the FGT measures.';
COMMENT ON COLUMN marts.poverty_stock.fgt_p0 IS 'Headcount ratio over fgt_people: share of people with per-capita income y below the line z of their income year, fraction; NULL when fgt_people is 0.';
COMMENT ON COLUMN marts.poverty_stock.fgt_p1 IS 'Poverty gap index: person-weighted mean of max(0, (z - y) / z), fraction of the line (y as delivered; a negative income gives a gap above 1); NULL when fgt_people is 0.';
COMMENT ON COLUMN marts.poverty_stock.fgt_p2 IS 'Squared poverty gap (severity): person-weighted mean of max(0, (z - y) / z)^2; NULL when fgt_people is 0.';
COMMENT ON COLUMN marts.poverty_stock.fgt_watts IS 'Watts index: person-weighted mean of ln(z / y) over y < z (0 otherwise), incomes <= 0 bottom-coded to 1 yuan, natural log units; NULL when fgt_people is 0.';

-- Grain: one row per village code.
CREATE TABLE marts.village_exit_readiness (
    as_of_date          DATE NOT NULL,
    village_code        VARCHAR NOT NULL,
    province_code       VARCHAR NOT NULL,
    county_code         VARCHAR NOT NULL,
    village_name        VARCHAR,
    is_poor_village     BOOLEAN,
    poor_households     BIGINT NOT NULL,
    poor_people         BIGINT NOT NULL,
    rural_population    BIGINT NOT NULL,
    incidence           DOUBLE,
    western_exit_rule   BOOLEAN NOT NULL,
    threshold           DECIMAL(4,3) NOT NULL,
    ready               BOOLEAN
);
COMMENT ON TABLE marts.village_exit_readiness IS 'Grain: one row per village code known as of the latest as_of_date. Poverty incidence (remaining poor people / rural hukou population) against the village exit threshold: 0.03 in provinces under the western rule (ref.provinces.western_exit_rule), else 0.02. Figures equal the village rows of marts.poverty_stock at that date.';
COMMENT ON COLUMN marts.village_exit_readiness.as_of_date IS 'Latest processed delivery date (Asia/Shanghai): the state at the end of that day.';
COMMENT ON COLUMN marts.village_exit_readiness.village_code IS '12-digit village code.';
COMMENT ON COLUMN marts.village_exit_readiness.province_code IS '2-digit province code (first 2 digits of the village code).';
COMMENT ON COLUMN marts.village_exit_readiness.county_code IS '6-digit county code (first 6 digits of the village code).';
COMMENT ON COLUMN marts.village_exit_readiness.village_name IS 'Village name as of the date (a place name, not PII); NULL when the village has households but no village record.';
COMMENT ON COLUMN marts.village_exit_readiness.is_poor_village IS 'Registered poor village (贫困村) as of the date.';
COMMENT ON COLUMN marts.village_exit_readiness.poor_households IS 'Households with status poor or returned, households.';
COMMENT ON COLUMN marts.village_exit_readiness.poor_people IS 'People (household_size) in households with status poor or returned.';
COMMENT ON COLUMN marts.village_exit_readiness.rural_population IS 'Rural hukou population of the village, people (0 when unknown).';
COMMENT ON COLUMN marts.village_exit_readiness.incidence IS 'poor_people / rural_population, fraction; NULL when rural_population is 0.';
COMMENT ON COLUMN marts.village_exit_readiness.western_exit_rule IS 'The province exits under the western rule (3%); false when the province is not in ref.provinces.';
COMMENT ON COLUMN marts.village_exit_readiness.threshold IS 'Exit threshold on incidence, fraction: 0.03 under the western rule, else 0.02.';
COMMENT ON COLUMN marts.village_exit_readiness.ready IS 'incidence < threshold (strictly below); NULL when incidence is NULL.';

-- Grain: one row per county code.
CREATE TABLE marts.county_exit_readiness (
    as_of_date                  DATE NOT NULL,
    county_code                 VARCHAR NOT NULL,
    province_code               VARCHAR NOT NULL,
    villages                    BIGINT NOT NULL,
    poor_villages               BIGINT NOT NULL,
    ready_villages              BIGINT NOT NULL,
    poor_people                 BIGINT NOT NULL,
    rural_population            BIGINT NOT NULL,
    incidence                   DOUBLE,
    western_exit_rule           BOOLEAN NOT NULL,
    threshold                   DECIMAL(4,3) NOT NULL,
    incidence_ok                BOOLEAN,
    wrongful_exit_rate          DOUBLE,
    missed_identification_rate  DOUBLE,
    public_approval             DOUBLE,
    evaluation_ok               BOOLEAN,
    status                      VARCHAR NOT NULL
);
COMMENT ON TABLE marts.county_exit_readiness IS 'Grain: one row per county code (latest as_of_date). The county exit rule: overall incidence below 2% (3% west), wrongful-exit rate <= 2%, missed-identification rate <= 2%, public approval >= 90% (third-party figures from ref.counties where known).';
COMMENT ON COLUMN marts.county_exit_readiness.as_of_date IS 'Latest processed delivery date (Asia/Shanghai).';
COMMENT ON COLUMN marts.county_exit_readiness.county_code IS '6-digit county code.';
COMMENT ON COLUMN marts.county_exit_readiness.province_code IS '2-digit province code.';
COMMENT ON COLUMN marts.county_exit_readiness.villages IS 'Villages of the county in marts.village_exit_readiness.';
COMMENT ON COLUMN marts.county_exit_readiness.poor_villages IS 'Of villages, registered poor villages.';
COMMENT ON COLUMN marts.county_exit_readiness.ready_villages IS 'Of villages, those whose incidence is below their threshold.';
COMMENT ON COLUMN marts.county_exit_readiness.poor_people IS 'People in households with status poor or returned, people.';
COMMENT ON COLUMN marts.county_exit_readiness.rural_population IS 'Sum of the villages'' rural hukou population, people.';
COMMENT ON COLUMN marts.county_exit_readiness.incidence IS 'poor_people / rural_population, fraction; NULL when rural_population is 0.';
COMMENT ON COLUMN marts.county_exit_readiness.western_exit_rule IS 'The province exits under the western rule.';
COMMENT ON COLUMN marts.county_exit_readiness.threshold IS 'Threshold on incidence, fraction: 0.03 western rule, else 0.02.';
COMMENT ON COLUMN marts.county_exit_readiness.incidence_ok IS 'incidence < threshold; NULL when incidence is NULL.';
COMMENT ON COLUMN marts.county_exit_readiness.wrongful_exit_rate IS 'From ref.counties, fraction; NULL = not known.';
COMMENT ON COLUMN marts.county_exit_readiness.missed_identification_rate IS 'From ref.counties, fraction; NULL = not known.';
COMMENT ON COLUMN marts.county_exit_readiness.public_approval IS 'From ref.counties, fraction; NULL = not known.';
COMMENT ON COLUMN marts.county_exit_readiness.evaluation_ok IS 'false when a known figure fails its bound (wrongful <= 0.02, missed <= 0.02, approval >= 0.90); true when all three are known and pass; NULL otherwise.';
COMMENT ON COLUMN marts.county_exit_readiness.status IS 'not_ready when incidence_ok or evaluation_ok is false; ready when both are true; otherwise not_evaluated (a figure is unknown).';

-- Grain: one row per (as_of_date, province_code).
CREATE TABLE marts.programme_coverage (
    as_of_date                  DATE NOT NULL,
    province_code               VARCHAR NOT NULL,
    villages                    BIGINT NOT NULL,
    poor_villages               BIGINT NOT NULL,
    villages_with_station       BIGINT NOT NULL,
    pilot_villages              BIGINT NOT NULL,
    pilot_villages_target       BIGINT,
    pilot_target_year           INTEGER,
    pilot_pct_of_target         DOUBLE,
    reached_villages            BIGINT NOT NULL,
    reached_villages_target     BIGINT,
    reached_target_year         INTEGER,
    reached_pct_of_target       DOUBLE,
    households_selling_online   BIGINT NOT NULL,
    ecommerce_trainings         BIGINT NOT NULL,
    solar_capacity_kw           DOUBLE NOT NULL,
    paper_mulberry_mu           DOUBLE NOT NULL
);
COMMENT ON TABLE marts.programme_coverage IS 'Grain: one row per (as_of_date, province_code); 00 = the nation. E-commerce, solar and paper-mulberry coverage as of the end of as_of_date, against the e-commerce targets of marts.effective_targets.';
COMMENT ON COLUMN marts.programme_coverage.as_of_date IS 'Processed delivery date (Asia/Shanghai); village and household records as of the end of that day, assistance events dated on or before it.';
COMMENT ON COLUMN marts.programme_coverage.province_code IS '2-digit province code; 00 = nation.';
COMMENT ON COLUMN marts.programme_coverage.villages IS 'Villages with a record as of the date.';
COMMENT ON COLUMN marts.programme_coverage.poor_villages IS 'Of villages, registered poor villages.';
COMMENT ON COLUMN marts.programme_coverage.villages_with_station IS 'Villages whose record as of the date has an e-commerce service station.';
COMMENT ON COLUMN marts.programme_coverage.pilot_villages IS 'Villages whose record as of the date names an e-commerce pilot year (ecommerce_pilot_year not null).';
COMMENT ON COLUMN marts.programme_coverage.pilot_villages_target IS 'Target for pilot villages (metric ecommerce_pilot_villages): the target of the first target year >= year of as_of_date, else of the last earlier year; NULL where none (provinces without a target).';
COMMENT ON COLUMN marts.programme_coverage.pilot_target_year IS 'Year of pilot_villages_target.';
COMMENT ON COLUMN marts.programme_coverage.pilot_pct_of_target IS '100 * pilot_villages / pilot_villages_target, percent; NULL without a target.';
COMMENT ON COLUMN marts.programme_coverage.reached_villages IS 'Villages reached by e-commerce by the date (cumulative): a village counts from the first day it had a station in a record in force, or the date of its first ecommerce_* assistance event (village, or the village of the household), whichever is earlier.';
COMMENT ON COLUMN marts.programme_coverage.reached_villages_target IS 'Target for villages reached (metric ecommerce_villages_cumulative), chosen as for pilot_villages_target.';
COMMENT ON COLUMN marts.programme_coverage.reached_target_year IS 'Year (deadline) of reached_villages_target.';
COMMENT ON COLUMN marts.programme_coverage.reached_pct_of_target IS '100 * reached_villages / reached_villages_target, percent; NULL without a target.';
COMMENT ON COLUMN marts.programme_coverage.households_selling_online IS 'Registered households (status other than removed) selling online as of the date.';
COMMENT ON COLUMN marts.programme_coverage.ecommerce_trainings IS 'Assistance events of programme ecommerce_training dated on or before as_of_date (cumulative), events.';
COMMENT ON COLUMN marts.programme_coverage.solar_capacity_kw IS 'Sum of the villages'' installed solar PV capacity as of the date, kW (summed at 0.001 kW precision).';
COMMENT ON COLUMN marts.programme_coverage.paper_mulberry_mu IS 'Sum of the villages'' paper mulberry area as of the date, mu (1/15 ha; summed at 0.001 mu precision).';

-- Grain: one row per (province_code, cause).
CREATE TABLE marts.causes (
    as_of_date              DATE NOT NULL,
    province_code           VARCHAR NOT NULL,
    cause                   VARCHAR NOT NULL,
    households              BIGINT NOT NULL,
    people                  BIGINT NOT NULL,
    share_of_households     DOUBLE,
    poor_households         BIGINT NOT NULL,
    poor_people             BIGINT NOT NULL,
    other_cause_households  BIGINT NOT NULL
);
COMMENT ON TABLE marts.causes IS 'Grain: one row per (province_code, cause); 00 = nation. Causes of poverty of the registered households (status poor, lifted or returned; removed ones excluded) as of the latest as_of_date: as main cause, and as one of the other causes. A row for every cause named in the province.';
COMMENT ON COLUMN marts.causes.as_of_date IS 'Latest processed delivery date (Asia/Shanghai).';
COMMENT ON COLUMN marts.causes.province_code IS '2-digit province code; 00 = nation.';
COMMENT ON COLUMN marts.causes.cause IS 'Cause code of the landing contract (illness, disability, education, ...).';
COMMENT ON COLUMN marts.causes.households IS 'Registered households with this main cause.';
COMMENT ON COLUMN marts.causes.people IS 'People (household_size) in registered households with this main cause.';
COMMENT ON COLUMN marts.causes.share_of_households IS 'households / all registered households of the province, fraction; the shares of a province sum to 1.';
COMMENT ON COLUMN marts.causes.poor_households IS 'Of households, those with status poor or returned.';
COMMENT ON COLUMN marts.causes.poor_people IS 'People in poor_households.';
COMMENT ON COLUMN marts.causes.other_cause_households IS 'Registered households naming this cause among their (up to two) other causes.';

-- Grain: one row per paper exit (household_id, exit_number).
CREATE TABLE marts.exit_audit (
    household_id            VARCHAR NOT NULL,
    exit_number             INTEGER NOT NULL,
    province_code           VARCHAR NOT NULL,
    county_code             VARCHAR NOT NULL,
    village_code            VARCHAR NOT NULL,
    event_date              DATE NOT NULL,
    reported_on             DATE,
    people                  INTEGER NOT NULL,
    income_year             INTEGER,
    per_capita_income_yuan  DECIMAL(18,2),
    poverty_line_yuan       DOUBLE,
    income_ok               BOOLEAN NOT NULL,
    food_clothing_ok        BOOLEAN NOT NULL,
    housing_ok              BOOLEAN NOT NULL,
    water_ok                BOOLEAN NOT NULL,
    education_ok            BOOLEAN NOT NULL,
    medical_ok              BOOLEAN NOT NULL,
    exit_year_ok            BOOLEAN NOT NULL,
    failed_count            INTEGER NOT NULL,
    failed_criteria         VARCHAR NOT NULL,
    current_status          VARCHAR
);
COMMENT ON TABLE marts.exit_audit IS 'Grain: one row per paper exit: an exit (status event to lifted) that fails at least one exit criterion (core.exit_checks.verified false), from every accepted delivery. The verification teams'' list. No names or resident IDs.';
COMMENT ON COLUMN marts.exit_audit.household_id IS '16-digit registry household number (village code + sequence); not a personal ID.';
COMMENT ON COLUMN marts.exit_audit.exit_number IS '1 for the household''s first exit (verified or not), 2 for the next, ... ordered by event date then delivery.';
COMMENT ON COLUMN marts.exit_audit.province_code IS '2-digit province code.';
COMMENT ON COLUMN marts.exit_audit.county_code IS '6-digit county code.';
COMMENT ON COLUMN marts.exit_audit.village_code IS '12-digit village code.';
COMMENT ON COLUMN marts.exit_audit.event_date IS 'Date of the exit (status_changed_on of the exiting record), Asia/Shanghai.';
COMMENT ON COLUMN marts.exit_audit.reported_on IS 'Delivery date of the exiting record (Asia/Shanghai).';
COMMENT ON COLUMN marts.exit_audit.people IS 'Household size on the exiting record, people.';
COMMENT ON COLUMN marts.exit_audit.income_year IS 'Year the per-capita income refers to.';
COMMENT ON COLUMN marts.exit_audit.per_capita_income_yuan IS 'Per-capita net income on the exiting record, yuan per person per year.';
COMMENT ON COLUMN marts.exit_audit.poverty_line_yuan IS 'Poverty line of income_year (ref.poverty_lines), yuan per person per year; NULL when the year has no line.';
COMMENT ON COLUMN marts.exit_audit.income_ok IS 'Per-capita income above the line of its income year.';
COMMENT ON COLUMN marts.exit_audit.food_clothing_ok IS 'Food and clothing secure on the exiting record.';
COMMENT ON COLUMN marts.exit_audit.housing_ok IS 'Housing safe on the exiting record.';
COMMENT ON COLUMN marts.exit_audit.water_ok IS 'Drinking water safe on the exiting record.';
COMMENT ON COLUMN marts.exit_audit.education_ok IS 'No active member aged 6-15 at the exit date out of school (members as currently known).';
COMMENT ON COLUMN marts.exit_audit.medical_ok IS 'Every active member medically insured (members as currently known).';
COMMENT ON COLUMN marts.exit_audit.exit_year_ok IS 'Exit year after the identification year.';
COMMENT ON COLUMN marts.exit_audit.failed_count IS 'Number of failed criteria (1-7).';
COMMENT ON COLUMN marts.exit_audit.failed_criteria IS 'Failed criteria, comma-separated codes: income_below_line, food_clothing_insecure, housing_unsafe, drinking_water_unsafe, child_out_of_school, member_uninsured, exit_in_identification_year.';
COMMENT ON COLUMN marts.exit_audit.current_status IS 'The household''s status now (core.households): poor, lifted, returned or removed.';

-- Grain: one row per (as_of_date, province_code).
CREATE TABLE marts.deprivation (
    as_of_date                      DATE NOT NULL,
    province_code                   VARCHAR NOT NULL,
    households                      BIGINT NOT NULL,
    people                          BIGINT NOT NULL,
    deprived_households             BIGINT NOT NULL,
    deprived_people                 BIGINT NOT NULL,
    headcount_h                     DOUBLE,
    intensity_a                     DOUBLE,
    adjusted_headcount_m0           DOUBLE,
    food_clothing_deprived_people   BIGINT NOT NULL,
    education_deprived_people       BIGINT NOT NULL,
    medical_deprived_people         BIGINT NOT NULL,
    housing_deprived_people         BIGINT NOT NULL,
    water_deprived_people           BIGINT NOT NULL,
    income_poor_deprived_households BIGINT NOT NULL,
    income_poor_deprived_people     BIGINT NOT NULL,
    income_poor_only_households     BIGINT NOT NULL,
    income_poor_only_people         BIGINT NOT NULL,
    deprived_only_households        BIGINT NOT NULL,
    deprived_only_people            BIGINT NOT NULL,
    neither_households              BIGINT NOT NULL,
    neither_people                  BIGINT NOT NULL,
    income_unknown_households       BIGINT NOT NULL,
    income_unknown_people           BIGINT NOT NULL
);
COMMENT ON TABLE marts.deprivation IS 'Grain: one row per (as_of_date, province_code) for the latest as_of_date; 00 = nation. MPI-style (Alkire-Foster) deprivation of the poor stock (households with status poor or returned as of the date): five indicators (food and clothing, education, medical care, housing, drinking water), equal weights 1/5, poverty cut-off k = 1/3 (deprived in at least 2 of 5). Person-weighted (weight = household_size). Plus the overlap of income poverty and deprivation.';
COMMENT ON COLUMN marts.deprivation.as_of_date IS 'Latest processed delivery date (Asia/Shanghai); household records as of the end of that day, members as currently known, ages at that date.';
COMMENT ON COLUMN marts.deprivation.province_code IS '2-digit province code; 00 = nation.';
COMMENT ON COLUMN marts.deprivation.households IS 'Households with status poor or returned.';
COMMENT ON COLUMN marts.deprivation.people IS 'People (household_size) in those households.';
COMMENT ON COLUMN marts.deprivation.deprived_households IS 'Households whose weighted deprivation score is >= k = 1/3.';
COMMENT ON COLUMN marts.deprivation.deprived_people IS 'People in deprived_households.';
COMMENT ON COLUMN marts.deprivation.headcount_h IS 'H = deprived_people / people, fraction; NULL when people is 0.';
COMMENT ON COLUMN marts.deprivation.intensity_a IS 'A = person-weighted mean deprivation score (share of weighted indicators, 0-1) among the deprived; NULL when nobody is deprived.';
COMMENT ON COLUMN marts.deprivation.adjusted_headcount_m0 IS 'M0 = H x A, fraction; NULL when people is 0.';
COMMENT ON COLUMN marts.deprivation.food_clothing_deprived_people IS 'People in households whose food and clothing is not secure (uncensored).';
COMMENT ON COLUMN marts.deprivation.education_deprived_people IS 'People in households with an active member aged 6-15 at as_of_date out of school (uncensored).';
COMMENT ON COLUMN marts.deprivation.medical_deprived_people IS 'People in households with an active member not medically insured (uncensored).';
COMMENT ON COLUMN marts.deprivation.housing_deprived_people IS 'People in households whose housing is not safe (uncensored).';
COMMENT ON COLUMN marts.deprivation.water_deprived_people IS 'People in households whose drinking water is not safe (uncensored).';
COMMENT ON COLUMN marts.deprivation.income_poor_deprived_households IS 'Households income-poor (per-capita income below the line of its income year) and deprived.';
COMMENT ON COLUMN marts.deprivation.income_poor_deprived_people IS 'People in income_poor_deprived_households.';
COMMENT ON COLUMN marts.deprivation.income_poor_only_households IS 'Households income-poor and not deprived.';
COMMENT ON COLUMN marts.deprivation.income_poor_only_people IS 'People in income_poor_only_households.';
COMMENT ON COLUMN marts.deprivation.deprived_only_households IS 'Households deprived and not income-poor.';
COMMENT ON COLUMN marts.deprivation.deprived_only_people IS 'People in deprived_only_households.';
COMMENT ON COLUMN marts.deprivation.neither_households IS 'Households neither income-poor nor deprived.';
COMMENT ON COLUMN marts.deprivation.neither_people IS 'People in neither_households.';
COMMENT ON COLUMN marts.deprivation.income_unknown_households IS 'Households without a per-capita income or without a poverty line for its income year (outside the four cells).';
COMMENT ON COLUMN marts.deprivation.income_unknown_people IS 'People in income_unknown_households.';

-- Grain: one row per (delivery_date, county_code).
CREATE TABLE marts.data_quality_completeness (
    delivery_date       DATE NOT NULL,
    county_code         VARCHAR NOT NULL,
    province_code       VARCHAR NOT NULL,
    status              VARCHAR NOT NULL,
    files               BIGINT NOT NULL,
    files_held          BIGINT NOT NULL,
    villages_files      BIGINT NOT NULL,
    households_files    BIGINT NOT NULL,
    members_files       BIGINT NOT NULL,
    assistance_files    BIGINT NOT NULL,
    rows_received       BIGINT NOT NULL,
    rows_held           BIGINT NOT NULL
);
COMMENT ON TABLE marts.data_quality_completeness IS 'Grain: one row per (processed delivery date, county) for every county that delivered on that date or on an earlier one. A county that delivered before and sent nothing on the date is missing. Late files are not counted.';
COMMENT ON COLUMN marts.data_quality_completeness.delivery_date IS 'Processed delivery date (Asia/Shanghai).';
COMMENT ON COLUMN marts.data_quality_completeness.county_code IS '6-digit county code (the source part of the file names).';
COMMENT ON COLUMN marts.data_quality_completeness.province_code IS '2-digit province code.';
COMMENT ON COLUMN marts.data_quality_completeness.status IS 'delivered (at least one file, loaded or held) or missing.';
COMMENT ON COLUMN marts.data_quality_completeness.files IS 'Files the county delivered on the date.';
COMMENT ON COLUMN marts.data_quality_completeness.files_held IS 'Of files, those held whole (unreadable, manifest mismatch, mostly invalid, ...).';
COMMENT ON COLUMN marts.data_quality_completeness.villages_files IS 'Files of entity villages.';
COMMENT ON COLUMN marts.data_quality_completeness.households_files IS 'Files of entity households.';
COMMENT ON COLUMN marts.data_quality_completeness.members_files IS 'Files of entity members.';
COMMENT ON COLUMN marts.data_quality_completeness.assistance_files IS 'Files of entity assistance.';
COMMENT ON COLUMN marts.data_quality_completeness.rows_received IS 'Data rows received in those files (audit.reconciliation), rows.';
COMMENT ON COLUMN marts.data_quality_completeness.rows_held IS 'Of rows_received, rows held (including conflicts), rows.';

-- Grain: one row per (delivery_date, entity, outcome, reason).
CREATE TABLE marts.data_quality_quarantine (
    delivery_date   DATE NOT NULL,
    entity          VARCHAR NOT NULL,
    outcome         VARCHAR NOT NULL,
    reason          VARCHAR NOT NULL,
    records         BIGINT NOT NULL,
    files           BIGINT NOT NULL
);
COMMENT ON TABLE marts.data_quality_quarantine IS 'Grain: one row per (delivery_date, entity, outcome, reason). Counts of audit.quarantine: rows not simply applied (held, conflict, stale, duplicate, parked) and applied rows that loaded with a warning (warned). Reason codes: docs/reason_codes.md.';
COMMENT ON COLUMN marts.data_quality_quarantine.delivery_date IS 'Delivery date of the rows (Asia/Shanghai).';
COMMENT ON COLUMN marts.data_quality_quarantine.entity IS 'villages, households, members, assistance or targets (unknown for a file whose name says none).';
COMMENT ON COLUMN marts.data_quality_quarantine.outcome IS 'held, conflict, stale, duplicate, parked or warned.';
COMMENT ON COLUMN marts.data_quality_quarantine.reason IS 'Reason code (contract/reasons.py); for a warned row its first reason.';
COMMENT ON COLUMN marts.data_quality_quarantine.records IS 'Quarantine entries: delivered rows, or 1 per held file whose rows could not be read.';
COMMENT ON COLUMN marts.data_quality_quarantine.files IS 'Distinct files these entries come from.';
