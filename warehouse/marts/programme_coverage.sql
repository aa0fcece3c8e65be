-- Grain: one row per (as_of_date, province_code); 00 = the nation.
-- depends on: marts.effective_targets
-- E-commerce, solar and paper-mulberry coverage as of the end of each processed delivery
-- date. Village and household figures use the record in force on the date (spans and
-- running sums, as in poverty_stock.sql; the households' steps summed per (village, date)
-- come from state.mart_household_steps); assistance counts events dated on or before
-- the date, from every accepted delivery. A village is reached by e-commerce from the first
-- day it had a station in a record in force, or the date of its first ecommerce_* event,
-- whichever comes first (cumulative: once reached, always counted).
-- Targets (marts.effective_targets): for each metric the target of the first target year
-- at or after the as_of year, else the last earlier one.
CREATE OR REPLACE TABLE marts.programme_coverage AS
WITH as_of AS (
    SELECT DISTINCT delivery_date AS as_of_date FROM audit.runs WHERE state = 'success'
),
-- Spans of dates [from_date, until_date) as in poverty_stock.sql (not the history
-- tables' valid_from / valid_to, which are update timestamps).
village_spans AS (
    SELECT * FROM (
        SELECT v.village_code, v.is_poor_village, v.has_ecommerce_station,
               v.ecommerce_pilot_year, v.solar_capacity_kw, v.paper_mulberry_mu,
               v.effective_date AS from_date,
               min(v.effective_date) OVER (
                   PARTITION BY v.village_code ORDER BY v.version
                   ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS until_date
        FROM core.villages_history v
        WHERE v.effective_date IS NOT NULL
    )
    WHERE until_date IS NULL OR until_date > from_date
),
ecommerce_events AS (
    SELECT coalesce(a.village_code, left(a.household_id, 12)) AS village_code,
           a.program, a.event_date
    FROM core.assistance a
    WHERE starts_with(a.program, 'ecommerce_') AND a.event_date IS NOT NULL
),
first_reached AS (
    SELECT village_code, min(d) AS d
    FROM (
        SELECT village_code, from_date AS d FROM village_spans WHERE has_ecommerce_station
        UNION ALL
        SELECT village_code, event_date FROM ecommerce_events
    )
    GROUP BY ALL
),
-- (village, from_date, until_date, measures...): the same column order in every branch.
measures AS (
    SELECT village_code, from_date, until_date,
           1::BIGINT AS villages,
           coalesce(is_poor_village, false)::BIGINT AS poor_villages,
           coalesce(has_ecommerce_station, false)::BIGINT AS villages_with_station,
           (ecommerce_pilot_year IS NOT NULL)::BIGINT AS pilot_villages,
           0::BIGINT AS reached_villages,
           0::BIGINT AS households_selling_online,
           0::BIGINT AS ecommerce_trainings,
           coalesce(round(solar_capacity_kw, 3), 0)::DECIMAL(38,3) AS solar_capacity_kw,
           coalesce(round(paper_mulberry_mu, 3), 0)::DECIMAL(38,3) AS paper_mulberry_mu
    FROM village_spans
    UNION ALL
    SELECT village_code, step_date, NULL, 0, 0, 0, 0, 0, households_selling_online, 0, 0, 0
    FROM state.mart_household_steps
    WHERE households_selling_online <> 0
    UNION ALL
    SELECT village_code, d, NULL, 0, 0, 0, 0, 1, 0, 0, 0, 0
    FROM first_reached
    UNION ALL
    SELECT village_code, event_date, NULL, 0, 0, 0, 0, 0, 0, 1, 0, 0
    FROM ecommerce_events
    WHERE program = 'ecommerce_training'
),
steps AS (
    SELECT left(village_code, 2) AS province_code, from_date AS d,
           COLUMNS(* EXCLUDE (village_code, from_date, until_date))
    FROM measures
    UNION ALL
    SELECT left(village_code, 2), until_date,
           -COLUMNS(* EXCLUDE (village_code, from_date, until_date))
    FROM measures
    WHERE until_date IS NOT NULL
),
province_steps AS (
    SELECT province_code, d, sum(COLUMNS(* EXCLUDE (province_code, d)))
    FROM steps
    GROUP BY ALL
),
province_running AS (
    SELECT province_code, d,
           sum(COLUMNS(* EXCLUDE (province_code, d))) OVER (
               PARTITION BY province_code ORDER BY d ROWS UNBOUNDED PRECEDING)
    FROM province_steps
),
province_rows AS (
    SELECT g.as_of_date, g.province_code, r.* EXCLUDE (province_code, d)
    FROM (SELECT DISTINCT p.province_code, a.as_of_date
          FROM province_steps p CROSS JOIN as_of a) g
    ASOF JOIN province_running r ON r.province_code = g.province_code AND g.as_of_date >= r.d
),
all_rows AS (
    SELECT * FROM province_rows
    UNION ALL
    SELECT as_of_date, '00', sum(COLUMNS(* EXCLUDE (as_of_date, province_code)))
    FROM province_rows
    GROUP BY ALL
),
targets AS (
    SELECT a.as_of_date, t.province_code, t.metric, t.year, t.target
    FROM as_of a
    JOIN marts.effective_targets t
      ON t.metric IN ('ecommerce_pilot_villages', 'ecommerce_villages_cumulative')
    QUALIFY row_number() OVER (
        PARTITION BY a.as_of_date, t.province_code, t.metric
        ORDER BY t.year < year(a.as_of_date), abs(t.year - year(a.as_of_date))) = 1
)
SELECT r.as_of_date, r.province_code, p.name_zh AS province_name,
       p.name_en AS province_name_en,
       r.villages::BIGINT AS villages,
       r.poor_villages::BIGINT AS poor_villages,
       r.villages_with_station::BIGINT AS villages_with_station,
       r.pilot_villages::BIGINT AS pilot_villages,
       tp.target AS pilot_villages_target,
       tp.year AS pilot_target_year,
       CASE WHEN tp.target > 0 THEN r.pilot_villages::DOUBLE / tp.target END
           AS pilot_share_of_target,
       r.reached_villages::BIGINT AS reached_villages,
       tr.target AS reached_villages_target,
       tr.year AS reached_target_year,
       CASE WHEN tr.target > 0 THEN r.reached_villages::DOUBLE / tr.target END
           AS reached_share_of_target,
       r.households_selling_online::BIGINT AS households_selling_online,
       r.ecommerce_trainings::BIGINT AS ecommerce_trainings,
       r.solar_capacity_kw::DOUBLE AS solar_capacity_kw,
       r.paper_mulberry_mu::DOUBLE AS paper_mulberry_mu
FROM all_rows r
LEFT JOIN ref.provinces p USING (province_code)
LEFT JOIN targets tp
  ON tp.as_of_date = r.as_of_date AND tp.province_code = r.province_code
 AND tp.metric = 'ecommerce_pilot_villages'
LEFT JOIN targets tr
  ON tr.as_of_date = r.as_of_date AND tr.province_code = r.province_code
 AND tr.metric = 'ecommerce_villages_cumulative';

COMMENT ON TABLE marts.programme_coverage IS 'Grain: one row per (as_of_date, province_code); 00 = the nation. E-commerce, solar and paper-mulberry coverage as of the end of as_of_date, against the e-commerce targets of marts.effective_targets.';
COMMENT ON COLUMN marts.programme_coverage.as_of_date IS 'Processed delivery date (Asia/Shanghai); village and household records as of the end of that day, assistance events dated on or before it.';
COMMENT ON COLUMN marts.programme_coverage.province_code IS '2-digit province code; 00 = nation.';
COMMENT ON COLUMN marts.programme_coverage.province_name IS 'Province name (Chinese, ref.provinces.name_zh); 全国 for 00.';
COMMENT ON COLUMN marts.programme_coverage.province_name_en IS 'Province name (English, ref.provinces.name_en); Nation for 00.';
COMMENT ON COLUMN marts.programme_coverage.villages IS 'Villages with a record as of the date.';
COMMENT ON COLUMN marts.programme_coverage.poor_villages IS 'Of villages, registered poor villages.';
COMMENT ON COLUMN marts.programme_coverage.villages_with_station IS 'Villages whose record as of the date has an e-commerce service station.';
COMMENT ON COLUMN marts.programme_coverage.pilot_villages IS 'Villages whose record as of the date names an e-commerce pilot year (ecommerce_pilot_year not null).';
COMMENT ON COLUMN marts.programme_coverage.pilot_villages_target IS 'Target for pilot villages (metric ecommerce_pilot_villages): the target of the first target year >= year of as_of_date, else of the last earlier year; NULL where none (provinces without a target).';
COMMENT ON COLUMN marts.programme_coverage.pilot_target_year IS 'Year of pilot_villages_target.';
COMMENT ON COLUMN marts.programme_coverage.pilot_share_of_target IS 'pilot_villages / pilot_villages_target, fraction (1 = the target met); NULL without a target.';
COMMENT ON COLUMN marts.programme_coverage.reached_villages IS 'Villages reached by e-commerce by the date (cumulative): a village counts from the first day it had a station in a record in force, or the date of its first ecommerce_* assistance event (village, or the village of the household), whichever is earlier.';
COMMENT ON COLUMN marts.programme_coverage.reached_villages_target IS 'Target for villages reached (metric ecommerce_villages_cumulative), chosen as for pilot_villages_target.';
COMMENT ON COLUMN marts.programme_coverage.reached_target_year IS 'Year (deadline) of reached_villages_target.';
COMMENT ON COLUMN marts.programme_coverage.reached_share_of_target IS 'reached_villages / reached_villages_target, fraction (1 = the target met); NULL without a target.';
COMMENT ON COLUMN marts.programme_coverage.households_selling_online IS 'Registered households (status other than removed) selling online as of the date.';
COMMENT ON COLUMN marts.programme_coverage.ecommerce_trainings IS 'Assistance events of programme ecommerce_training dated on or before as_of_date (cumulative), events.';
COMMENT ON COLUMN marts.programme_coverage.solar_capacity_kw IS 'Sum of the villages'' installed solar PV capacity as of the date, kW (summed at 0.001 kW precision).';
COMMENT ON COLUMN marts.programme_coverage.paper_mulberry_mu IS 'Sum of the villages'' paper mulberry area as of the date, mu (1/15 ha; summed at 0.001 mu precision).';
