-- Grain: one row per (as_of_date, province_code); 00 = the nation.
-- E-commerce, solar and paper-mulberry coverage as of the end of each processed delivery
-- date. Village and household figures use the record in force on the date (spans and
-- running sums, as in 20_poverty_stock.sql); assistance counts events dated on or before
-- the date, from every accepted delivery. A village is reached by e-commerce from the first
-- day it had a station in a record in force, or the date of its first ecommerce_* event,
-- whichever comes first (cumulative: once reached, always counted).
-- Targets (marts.effective_targets): for each metric the target of the first target year
-- at or after the as_of year, else the last earlier one.
DELETE FROM marts.programme_coverage;
INSERT INTO marts.programme_coverage
WITH as_of AS (
    SELECT DISTINCT delivery_date AS as_of_date FROM audit.runs WHERE state = 'success'
),
-- Spans of dates [from_date, until_date) as in 20_poverty_stock.sql (not the history
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
household_spans AS (
    SELECT * FROM (
        SELECT h.village_code, h.status, h.sells_online,
               h.effective_date AS from_date,
               min(h.effective_date) OVER (
                   PARTITION BY h.household_id ORDER BY h.version
                   ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS until_date
        FROM core.households_history h
        WHERE h.effective_date IS NOT NULL
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
    SELECT village_code, from_date, until_date, 0, 0, 0, 0, 0,
           (coalesce(sells_online, false) AND status <> 'removed')::BIGINT, 0, 0, 0
    FROM household_spans
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
SELECT r.as_of_date, r.province_code,
       r.villages, r.poor_villages, r.villages_with_station, r.pilot_villages,
       tp.target, tp.year,
       CASE WHEN tp.target > 0 THEN 100 * r.pilot_villages::DOUBLE / tp.target END,
       r.reached_villages,
       tr.target, tr.year,
       CASE WHEN tr.target > 0 THEN 100 * r.reached_villages::DOUBLE / tr.target END,
       r.households_selling_online, r.ecommerce_trainings,
       r.solar_capacity_kw::DOUBLE, r.paper_mulberry_mu::DOUBLE
FROM all_rows r
LEFT JOIN targets tp
  ON tp.as_of_date = r.as_of_date AND tp.province_code = r.province_code
 AND tp.metric = 'ecommerce_pilot_villages'
LEFT JOIN targets tr
  ON tr.as_of_date = r.as_of_date AND tr.province_code = r.province_code
 AND tr.metric = 'ecommerce_villages_cumulative';
