-- The version steps of the households of mart_history (a view of core.households_history:
-- every household, or the households a load recomputes), summed per (village, date): what
-- those households contribute to state.mart_household_steps (warehouse/mart_state.py).
-- Grain: one row per (village_code, step_date).
--
-- Each version is a span [from_date, until_date) of dates, where until_date is the earliest
-- effective date of a later version of the household (a parked row takes effect when its
-- parent arrives); a span adds its measures on from_date and takes them away on
-- until_date. The measures of marts.poverty_stock (integers, and FGT terms rounded to
-- DECIMAL(38,15) per household, so that sums are exact and do not depend on the order of
-- addition) and of marts.programme_coverage (households selling online). A NULL term
-- counts 0.
WITH household_spans AS (
    SELECT h.village_code, h.status, h.household_size::BIGINT AS w,
           h.per_capita_income_yuan::DOUBLE AS y,
           l.line_yuan_per_person::DOUBLE AS z,
           h.sells_online,
           h.effective_date AS from_date,
           min(h.effective_date) OVER (
               PARTITION BY h.household_id ORDER BY h.version
               ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS until_date
    FROM mart_history h
    LEFT JOIN ref.poverty_lines l ON l.year = h.income_year
    WHERE h.effective_date IS NOT NULL
),
household_measures AS (
    SELECT village_code, from_date, until_date,
           (status = 'poor')::BIGINT AS households_poor,
           (status = 'lifted')::BIGINT AS households_lifted,
           (status = 'returned')::BIGINT AS households_returned,
           (status = 'removed')::BIGINT AS households_removed,
           CASE WHEN status = 'poor' THEN w ELSE 0 END AS people_poor,
           CASE WHEN status = 'lifted' THEN w ELSE 0 END AS people_lifted,
           CASE WHEN status = 'returned' THEN w ELSE 0 END AS people_returned,
           CASE WHEN status = 'removed' THEN w ELSE 0 END AS people_removed,
           CASE WHEN in_fgt THEN w ELSE 0 END AS fgt_people,
           CASE WHEN in_fgt AND y < z THEN w ELSE 0 END AS fgt_poor_people,
           CASE WHEN in_fgt AND y < z
                THEN w * round((z - y) / z, 15)::DECIMAL(38,15) ELSE 0 END AS fgt_gap,
           CASE WHEN in_fgt AND y < z
                THEN w * round(((z - y) / z) ^ 2, 15)::DECIMAL(38,15) ELSE 0 END AS fgt_gap_sq,
           -- Watts: ln(z / y) below the line, incomes <= 0 bottom-coded to 1 yuan.
           CASE WHEN in_fgt AND y < z
                THEN w * round(ln(z / CASE WHEN y <= 0 THEN 1 ELSE y END), 15)::DECIMAL(38,15)
                ELSE 0 END AS fgt_watts,
           (coalesce(sells_online, false) AND status <> 'removed')::BIGINT
               AS households_selling_online
    FROM (
        SELECT *, status IN ('poor', 'returned') AND y IS NOT NULL AND z IS NOT NULL AS in_fgt
        FROM household_spans
    )
    WHERE until_date IS NULL OR until_date > from_date
),
steps AS (
    SELECT village_code, from_date AS step_date,
           COLUMNS(* EXCLUDE (village_code, from_date, until_date))
    FROM household_measures
    UNION ALL
    SELECT village_code, until_date,
           -COLUMNS(* EXCLUDE (village_code, from_date, until_date))
    FROM household_measures
    WHERE until_date IS NOT NULL
)
SELECT village_code, step_date,
       coalesce(sum(COLUMNS(* EXCLUDE (village_code, step_date))), 0)
FROM steps
GROUP BY ALL
