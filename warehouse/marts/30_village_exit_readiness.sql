-- Grain: one row per village code (state at the end of the latest as_of date).
-- Poverty incidence of each village against its exit threshold: 0.03 in provinces under the
-- western rule (ref.provinces.western_exit_rule), else 0.02; ready when strictly below.
-- The figures are the village rows of marts.poverty_stock at the latest as_of date (built
-- by 20_poverty_stock.sql); name and poor-village flag come from the village's record in
-- force on that date.
DELETE FROM marts.village_exit_readiness;
INSERT INTO marts.village_exit_readiness
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
SELECT as_of_date, village_code, province_code, county_code, village_name, is_poor_village,
       poor_households, poor_people, rural_population, incidence, western_exit_rule,
       threshold,
       -- Compared in exact decimals: poor / population < threshold.
       CASE WHEN rural_population > 0
            THEN poor_people::DECIMAL(38,3) < threshold * rural_population END AS ready
FROM (
    SELECT *,
           CASE WHEN western_exit_rule THEN 0.03 ELSE 0.02 END::DECIMAL(4,3) AS threshold
    FROM rated
);
