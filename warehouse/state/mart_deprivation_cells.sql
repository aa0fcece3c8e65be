-- The poor stock of mart_history / mart_members (views of core.households_history and
-- core.members: every household, or the households a load recomputes) as of the end of
-- $as_of, counted per cell of marts.deprivation: what those households contribute to
-- state.mart_deprivation_cells (warehouse/mart_state.py).
-- Grain: one row per (province_code, household_size, indicators, income_poor).
--
-- A household is its latest version that had taken effect by $as_of (effective_date <=
-- $as_of); it is in the poor stock when that version's status is poor or returned. Members
-- as currently known (active ones), ages at $as_of.
WITH in_force AS (
    SELECT h.household_id, left(h.village_code, 2) AS province_code, h.household_size,
           h.per_capita_income_yuan, h.income_year,
           NOT coalesce(h.food_clothing_secure, true) AS food_clothing,
           NOT coalesce(h.housing_safe, true) AS housing,
           NOT coalesce(h.drinking_water_safe, true) AS water,
           h.status
    FROM mart_history h
    WHERE h.effective_date <= $as_of
    QUALIFY h.version = max(h.version) OVER (PARTITION BY h.household_id)
),
poor_stock AS (
    SELECT * FROM in_force WHERE status IN ('poor', 'returned')
),
members AS (
    SELECT m.household_id,
           bool_or(
               date_diff('year', m.birth_date, $as_of::DATE)
               - (strftime(m.birth_date, '%m%d') > strftime($as_of::DATE, '%m%d'))::INT
               BETWEEN 6 AND 15
               AND NOT coalesce(m.in_school, true)) AS education,
           bool_or(NOT coalesce(m.medical_insured, true)) AS medical
    FROM mart_members m
    SEMI JOIN poor_stock p ON p.household_id = m.household_id
    WHERE m.member_status = 'active'
    GROUP BY ALL
)
SELECT p.province_code, p.household_size, p.food_clothing,
       coalesce(m.education, false) AS education,
       coalesce(m.medical, false) AS medical,
       p.housing, p.water,
       p.per_capita_income_yuan < l.line_yuan_per_person AS income_poor,
       count(*) AS households
FROM poor_stock p
LEFT JOIN members m USING (household_id)
LEFT JOIN ref.poverty_lines l ON l.year = p.income_year
GROUP BY ALL
