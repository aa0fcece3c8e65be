-- Grain: one row per county code (state at the end of the latest as_of date).
-- depends on: marts.village_exit_readiness
-- The county exit rule: overall incidence below 2% (3% under the western rule), and from the
-- third-party evaluation (ref.counties, where known) wrongful-exit rate <= 2%,
-- missed-identification rate <= 2%, public approval >= 90%. A known failure makes the
-- county not_ready; all passing makes it ready; otherwise (a figure unknown) not_evaluated.
CREATE OR REPLACE TABLE marts.county_exit_readiness AS
WITH counties AS (
    SELECT as_of_date, county_code, province_code,
           count(*) AS villages,
           count(*) FILTER (WHERE is_poor_village) AS poor_villages,
           count(*) FILTER (WHERE ready) AS ready_villages,
           sum(poor_people) AS poor_people,
           sum(rural_population) AS rural_population,
           bool_or(western_exit_rule) AS western_exit_rule
    FROM marts.village_exit_readiness
    GROUP BY ALL
),
rated AS (
    SELECT c.*,
           CASE WHEN c.rural_population > 0 THEN c.poor_people::DOUBLE / c.rural_population END
               AS incidence,
           CASE WHEN c.western_exit_rule THEN 0.03 ELSE 0.02 END::DECIMAL(4,3) AS threshold,
           e.wrongful_exit_rate, e.missed_identification_rate, e.public_approval
    FROM counties c
    LEFT JOIN ref.counties e USING (county_code)
),
judged AS (
    SELECT *,
           CASE WHEN rural_population > 0
                THEN poor_people::DECIMAL(38,3) < threshold * rural_population END AS incidence_ok,
           CASE WHEN wrongful_exit_rate > 0.02 OR missed_identification_rate > 0.02
                     OR public_approval < 0.90 THEN false
                WHEN wrongful_exit_rate IS NOT NULL AND missed_identification_rate IS NOT NULL
                     AND public_approval IS NOT NULL THEN true END AS evaluation_ok
    FROM rated
)
SELECT j.as_of_date, j.county_code, c.name_zh AS county_name, c.name_en AS county_name_en,
       j.province_code, p.name_zh AS province_name, p.name_en AS province_name_en,
       j.villages, j.poor_villages, j.ready_villages,
       j.poor_people::BIGINT AS poor_people, j.rural_population::BIGINT AS rural_population,
       j.incidence, j.western_exit_rule, j.threshold::DOUBLE AS threshold, j.incidence_ok,
       j.wrongful_exit_rate, j.missed_identification_rate, j.public_approval, j.evaluation_ok,
       CASE WHEN NOT j.incidence_ok OR NOT j.evaluation_ok THEN 'not_ready'
            WHEN j.incidence_ok AND j.evaluation_ok THEN 'ready'
            ELSE 'not_evaluated' END AS status
FROM judged j
LEFT JOIN ref.counties c USING (county_code)
LEFT JOIN ref.provinces p USING (province_code);

COMMENT ON TABLE marts.county_exit_readiness IS 'Grain: one row per county code (latest as_of_date). The county exit rule: overall incidence below 2% (3% west), wrongful-exit rate <= 2%, missed-identification rate <= 2%, public approval >= 90% (third-party figures from ref.counties where known).';
COMMENT ON COLUMN marts.county_exit_readiness.as_of_date IS 'Latest processed delivery date (Asia/Shanghai).';
COMMENT ON COLUMN marts.county_exit_readiness.county_code IS '6-digit county code.';
COMMENT ON COLUMN marts.county_exit_readiness.province_code IS '2-digit province code.';
COMMENT ON COLUMN marts.county_exit_readiness.county_name IS 'County name (Chinese, ref.counties.name_zh); NULL where ref.counties does not name the county.';
COMMENT ON COLUMN marts.county_exit_readiness.county_name_en IS 'County name (English, ref.counties.name_en); NULL where ref.counties does not name the county.';
COMMENT ON COLUMN marts.county_exit_readiness.province_name IS 'Province name (Chinese, ref.provinces.name_zh).';
COMMENT ON COLUMN marts.county_exit_readiness.province_name_en IS 'Province name (English, ref.provinces.name_en).';
COMMENT ON COLUMN marts.county_exit_readiness.villages IS 'Villages of the county in marts.village_exit_readiness.';
COMMENT ON COLUMN marts.county_exit_readiness.poor_villages IS 'Of villages, registered poor villages.';
COMMENT ON COLUMN marts.county_exit_readiness.ready_villages IS 'Of villages, those whose incidence is below their threshold.';
COMMENT ON COLUMN marts.county_exit_readiness.poor_people IS 'People in households with status poor or returned, people.';
COMMENT ON COLUMN marts.county_exit_readiness.rural_population IS 'Sum of the villages'' rural hukou population, people.';
COMMENT ON COLUMN marts.county_exit_readiness.incidence IS 'poor_people / rural_population, fraction; NULL when rural_population is 0.';
COMMENT ON COLUMN marts.county_exit_readiness.western_exit_rule IS 'The province exits under the western rule.';
COMMENT ON COLUMN marts.county_exit_readiness.threshold IS 'Threshold on incidence, fraction: 0.03 western rule, else 0.02 (compared exactly, in decimals).';
COMMENT ON COLUMN marts.county_exit_readiness.incidence_ok IS 'incidence < threshold; NULL when incidence is NULL.';
COMMENT ON COLUMN marts.county_exit_readiness.wrongful_exit_rate IS 'From ref.counties, fraction; NULL = not known.';
COMMENT ON COLUMN marts.county_exit_readiness.missed_identification_rate IS 'From ref.counties, fraction; NULL = not known.';
COMMENT ON COLUMN marts.county_exit_readiness.public_approval IS 'From ref.counties, fraction; NULL = not known.';
COMMENT ON COLUMN marts.county_exit_readiness.evaluation_ok IS 'false when a known figure fails its bound (wrongful <= 0.02, missed <= 0.02, approval >= 0.90); true when all three are known and pass; NULL otherwise.';
COMMENT ON COLUMN marts.county_exit_readiness.status IS 'not_ready when incidence_ok or evaluation_ok is false; ready when both are true; otherwise not_evaluated (a figure is unknown).';
