-- Grain: one row per paper exit (household_id, exit_number).
-- Every exit (status event into lifted, from every accepted delivery) that fails at least
-- one exit criterion (core.exit_checks.verified false), with each criterion: the
-- verification teams' list. exit_number numbers all exits of a household, verified or not,
-- by event date then delivery. No names or resident IDs.
DELETE FROM marts.exit_audit;
INSERT INTO marts.exit_audit
WITH numbered AS (
    SELECT x.*,
           row_number() OVER (
               PARTITION BY x.household_id
               ORDER BY x.event_date, x.delivery_date, x.file_name, x.row_number) AS exit_number
    FROM core.exit_checks x
)
SELECT n.household_id, n.exit_number, n.province_code, n.county_code, n.village_code,
       n.event_date, n.delivery_date AS reported_on, n.people, n.income_year,
       n.per_capita_income_yuan, n.poverty_line_yuan,
       n.income_ok, n.food_clothing_ok, n.housing_ok, n.water_ok, n.education_ok,
       n.medical_ok, n.exit_year_ok,
       (NOT n.income_ok)::INT + (NOT n.food_clothing_ok)::INT + (NOT n.housing_ok)::INT
       + (NOT n.water_ok)::INT + (NOT n.education_ok)::INT + (NOT n.medical_ok)::INT
       + (NOT n.exit_year_ok)::INT AS failed_count,
       n.failed_criteria,
       h.status AS current_status
FROM numbered n
LEFT JOIN core.households h USING (household_id)
WHERE NOT n.verified;
