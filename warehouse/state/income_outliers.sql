-- income_outlier (warn): every household version whose per-capita income has a modified
-- z-score (0.6745 x |income - county median| / county MAD) above 3.5, the median and the
-- median absolute deviation taken over the county's current households (the first six
-- digits of the household id). Recomputed by every load over the core tables: a county's
-- statistics move with any of its households, so any version's flag may flip.
-- Grain: one row per flagged version (delivered row).
INSERT INTO state.row_findings
WITH current_income AS (
    SELECT left(household_id, 6) AS county, per_capita_income_yuan::DOUBLE AS x
    FROM core.households
),
medians AS (
    SELECT county, median(x) AS m FROM current_income GROUP BY county
),
stats AS (
    SELECT county, any_value(m) AS m, median(abs(x - m)) AS mad
    FROM current_income JOIN medians USING (county)
    GROUP BY county
),
scored AS (
    SELECT h.delivery_date, h.file_name, h.row_number, h.household_id, s.county,
           0.6745 * abs(h.per_capita_income_yuan::DOUBLE - s.m) / s.mad AS z
    FROM core.households_history h
    JOIN stats s ON s.county = left(h.household_id, 6)
    WHERE s.mad > 0
)
SELECT 'households', delivery_date, file_name, row_number, household_id, household_id,
       'income', 'income_outlier',
       'modified z-score ' || round(z, 1)::VARCHAR || ' in county ' || county
FROM scored
WHERE z > 3.5
