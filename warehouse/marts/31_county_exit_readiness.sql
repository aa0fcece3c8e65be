-- Grain: one row per county code (state at the end of the latest as_of date).
-- The county exit rule: overall incidence below 2% (3% under the western rule), and from the
-- third-party evaluation (ref.counties, where known) wrongful-exit rate <= 2%,
-- missed-identification rate <= 2%, public approval >= 90%. A known failure makes the
-- county not_ready; all passing makes it ready; otherwise (a figure unknown) not_evaluated.
-- Built from marts.village_exit_readiness (30_village_exit_readiness.sql).
DELETE FROM marts.county_exit_readiness;
INSERT INTO marts.county_exit_readiness
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
           CASE WHEN c.rural_population > 0 THEN c.poor_people / c.rural_population END AS incidence,
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
SELECT as_of_date, county_code, province_code, villages, poor_villages, ready_villages,
       poor_people, rural_population, incidence, western_exit_rule, threshold, incidence_ok,
       wrongful_exit_rate, missed_identification_rate, public_approval, evaluation_ok,
       CASE WHEN NOT incidence_ok OR NOT evaluation_ok THEN 'not_ready'
            WHEN incidence_ok AND evaluation_ok THEN 'ready'
            ELSE 'not_evaluated' END AS status
FROM judged;
