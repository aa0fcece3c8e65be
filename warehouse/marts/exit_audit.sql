-- Grain: one row per paper exit (household_id, exit_number).
-- Every exit (status event into lifted, from every accepted delivery) that fails at least
-- one exit criterion (core.exit_checks.verified false), with each criterion: the
-- verification teams' list. exit_number numbers all exits of a household, verified or not,
-- by event date then delivery. No names or resident IDs.
CREATE OR REPLACE TABLE marts.exit_audit AS
WITH numbered AS (
    SELECT x.*,
           row_number() OVER (
               PARTITION BY x.household_id
               ORDER BY x.event_date, x.delivery_date, x.file_name, x.row_number) AS exit_number
    FROM core.exit_checks x
)
SELECT n.household_id, n.exit_number::INTEGER AS exit_number,
       n.province_code, p.name_zh AS province_name, p.name_en AS province_name_en,
       n.county_code, c.name_zh AS county_name, c.name_en AS county_name_en,
       n.village_code, v.village_name,
       n.event_date, n.delivery_date AS reported_on, n.people, n.income_year,
       n.per_capita_income_yuan, n.poverty_line_yuan,
       n.income_ok, n.food_clothing_ok, n.housing_ok, n.water_ok, n.education_ok,
       n.medical_ok, n.exit_year_ok,
       (NOT n.income_ok)::INT + (NOT n.food_clothing_ok)::INT + (NOT n.housing_ok)::INT
       + (NOT n.water_ok)::INT + (NOT n.education_ok)::INT + (NOT n.medical_ok)::INT
       + (NOT n.exit_year_ok)::INT AS failed_count,
       string_split(n.failed_criteria, ',') AS failed_criteria,
       h.status AS current_status
FROM numbered n
LEFT JOIN core.households h USING (household_id)
LEFT JOIN core.villages v ON v.village_code = n.village_code
LEFT JOIN ref.counties c ON c.county_code = n.county_code
LEFT JOIN ref.provinces p ON p.province_code = n.province_code
WHERE NOT n.verified;

COMMENT ON TABLE marts.exit_audit IS 'Grain: one row per paper exit: an exit (status event to lifted) that fails at least one exit criterion (core.exit_checks.verified false), from every accepted delivery. The verification teams'' list. No names or resident IDs.';
COMMENT ON COLUMN marts.exit_audit.household_id IS '16-digit registry household number (village code + sequence); not a personal ID.';
COMMENT ON COLUMN marts.exit_audit.exit_number IS '1 for the household''s first exit (verified or not), 2 for the next, ... ordered by event date then delivery.';
COMMENT ON COLUMN marts.exit_audit.province_code IS '2-digit province code.';
COMMENT ON COLUMN marts.exit_audit.county_code IS '6-digit county code.';
COMMENT ON COLUMN marts.exit_audit.village_code IS '12-digit village code.';
COMMENT ON COLUMN marts.exit_audit.village_name IS 'Village name now (core.villages; a place name, not PII); NULL without a village record.';
COMMENT ON COLUMN marts.exit_audit.county_name IS 'County name (Chinese, ref.counties.name_zh); NULL where ref.counties does not name the county.';
COMMENT ON COLUMN marts.exit_audit.county_name_en IS 'County name (English, ref.counties.name_en); NULL where ref.counties does not name the county.';
COMMENT ON COLUMN marts.exit_audit.province_name IS 'Province name (Chinese, ref.provinces.name_zh).';
COMMENT ON COLUMN marts.exit_audit.province_name_en IS 'Province name (English, ref.provinces.name_en).';
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
COMMENT ON COLUMN marts.exit_audit.failed_criteria IS 'Failed criteria, a list (VARCHAR[]) of codes: income_below_line, food_clothing_insecure, housing_unsafe, drinking_water_unsafe, child_out_of_school, member_uninsured, exit_in_identification_year.';
COMMENT ON COLUMN marts.exit_audit.current_status IS 'The household''s status now (core.households): poor, lifted, returned or removed.';
