-- Grain: one row per village code (state at the end of the latest as_of date).
-- depends on: marts.poverty_stock
-- Poverty incidence of each village against its exit threshold: 0.03 in provinces under the
-- western rule (ref.provinces.western_exit_rule), else 0.02; ready when strictly below.
-- The figures are the village rows of marts.poverty_stock at the latest as_of date; name
-- and poor-village flag come from the village's record in force on that date.
CREATE OR REPLACE TABLE marts.village_exit_readiness AS
WITH latest AS (
    SELECT max(delivery_date) AS as_of_date FROM audit.runs WHERE state = 'success'
),
village_records AS (
    SELECT v.village_code, v.village_name, v.is_poor_village
    FROM core.villages_history v, latest
    WHERE v.effective_date <= latest.as_of_date
    QUALIFY v.version = max(v.version) OVER (PARTITION BY v.village_code)
),
stock AS (
    SELECT s.*
    FROM marts.poverty_stock s
    JOIN latest USING (as_of_date)
    WHERE s.admin_level = 'village'
),
rated AS (
    SELECT s.as_of_date, s.admin_code AS village_code,
           left(s.admin_code, 2) AS province_code, left(s.admin_code, 6) AS county_code,
           r.village_name, r.is_poor_village,
           s.households_poor + s.households_returned AS poor_households,
           s.poor_stock_people AS poor_people,
           s.rural_population,
           s.incidence,
           coalesce(p.western_exit_rule, false) AS western_exit_rule
    FROM stock s
    LEFT JOIN village_records r ON r.village_code = s.admin_code
    LEFT JOIN ref.provinces p ON p.province_code = left(s.admin_code, 2)
)
SELECT r.as_of_date, r.village_code, r.village_name, r.province_code,
       p.name_zh AS province_name, p.name_en AS province_name_en, r.county_code,
       c.name_zh AS county_name, c.name_en AS county_name_en, r.is_poor_village,
       r.poor_households, r.poor_people, r.rural_population, r.incidence, r.western_exit_rule,
       r.threshold::DOUBLE AS threshold,
       -- Compared in exact decimals: poor / population < threshold.
       CASE WHEN r.rural_population > 0
            THEN r.poor_people::DECIMAL(38,3) < r.threshold * r.rural_population END AS ready
FROM (
    SELECT *,
           CASE WHEN western_exit_rule THEN 0.03 ELSE 0.02 END::DECIMAL(4,3) AS threshold
    FROM rated
) r
LEFT JOIN ref.provinces p USING (province_code)
LEFT JOIN ref.counties c USING (county_code);

COMMENT ON TABLE marts.village_exit_readiness IS 'Grain: one row per village code known as of the latest as_of_date. Poverty incidence (remaining poor people / rural hukou population) against the village exit threshold: 0.03 in provinces under the western rule (ref.provinces.western_exit_rule), else 0.02. Figures equal the village rows of marts.poverty_stock at that date.';
COMMENT ON COLUMN marts.village_exit_readiness.as_of_date IS 'Latest processed delivery date (Asia/Shanghai): the state at the end of that day.';
COMMENT ON COLUMN marts.village_exit_readiness.village_code IS '12-digit village code.';
COMMENT ON COLUMN marts.village_exit_readiness.province_code IS '2-digit province code (first 2 digits of the village code).';
COMMENT ON COLUMN marts.village_exit_readiness.county_code IS '6-digit county code (first 6 digits of the village code).';
COMMENT ON COLUMN marts.village_exit_readiness.county_name IS 'County name (Chinese, ref.counties.name_zh); NULL where ref.counties does not name the county.';
COMMENT ON COLUMN marts.village_exit_readiness.county_name_en IS 'County name (English, ref.counties.name_en); NULL where ref.counties does not name the county.';
COMMENT ON COLUMN marts.village_exit_readiness.province_name IS 'Province name (Chinese, ref.provinces.name_zh).';
COMMENT ON COLUMN marts.village_exit_readiness.province_name_en IS 'Province name (English, ref.provinces.name_en).';
COMMENT ON COLUMN marts.village_exit_readiness.village_name IS 'Village name as of the date (a place name, not PII); NULL when the village has households but no village record.';
COMMENT ON COLUMN marts.village_exit_readiness.is_poor_village IS 'Registered poor village (贫困村) as of the date.';
COMMENT ON COLUMN marts.village_exit_readiness.poor_households IS 'Households with status poor or returned, households.';
COMMENT ON COLUMN marts.village_exit_readiness.poor_people IS 'People (household_size) in households with status poor or returned.';
COMMENT ON COLUMN marts.village_exit_readiness.rural_population IS 'Rural hukou population of the village, people (0 when unknown).';
COMMENT ON COLUMN marts.village_exit_readiness.incidence IS 'poor_people / rural_population, fraction; NULL when rural_population is 0.';
COMMENT ON COLUMN marts.village_exit_readiness.western_exit_rule IS 'The province exits under the western rule (3%); false when the province is not in ref.provinces.';
COMMENT ON COLUMN marts.village_exit_readiness.threshold IS 'Exit threshold on incidence, fraction: 0.03 under the western rule, else 0.02 (compared exactly, in decimals).';
COMMENT ON COLUMN marts.village_exit_readiness.ready IS 'incidence < threshold (strictly below); NULL when incidence is NULL.';
