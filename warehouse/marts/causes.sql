-- Grain: one row per (province_code, cause); 00 = the nation.
-- Causes of poverty of the registered households (status poor, lifted or returned; removed
-- households were identified by mistake and are left out) as of the end of the latest
-- as_of date: each household's main cause, and its other causes (up to two, ';'-joined
-- codes in core.households_history.other_causes).
--
-- The households come counted per cell (province, role, cause, poor or not, household_size)
-- from state.mart_cause_cells, which every load keeps up to date as of the latest as_of
-- date (state.mart_as_of; warehouse/mart_state.py): a sum over households is a sum over
-- cells of households x the cell's value.
CREATE OR REPLACE TABLE marts.causes AS
WITH named AS (
    SELECT province_code, cause, households,
           households * household_size::BIGINT AS people,
           CASE WHEN poor_stock THEN households ELSE 0 END AS poor_households,
           CASE WHEN poor_stock THEN households * household_size::BIGINT ELSE 0 END
               AS poor_people,
           0 AS other_cause_households
    FROM state.mart_cause_cells
    WHERE role = 'main' AND cause IS NOT NULL
    UNION ALL
    SELECT province_code, cause, 0, 0, 0, 0, households
    FROM state.mart_cause_cells
    WHERE role = 'other'
),
by_area AS (
    SELECT province_code, cause, sum(COLUMNS(* EXCLUDE (province_code, cause)))
    FROM named GROUP BY ALL
    UNION ALL
    SELECT '00', cause, sum(COLUMNS(* EXCLUDE (province_code, cause)))
    FROM named GROUP BY ALL
),
registered AS (
    SELECT province_code, households FROM state.mart_cause_cells WHERE role = 'main'
),
totals AS (
    SELECT province_code, sum(households) AS households FROM registered GROUP BY ALL
    UNION ALL
    SELECT '00', sum(households) FROM registered
)
SELECT l.as_of_date, a.province_code, p.name_zh AS province_name,
       p.name_en AS province_name_en, a.cause,
       a.households::BIGINT AS households,
       a.people::BIGINT AS people,
       a.households::DOUBLE / t.households AS share_of_households,
       a.poor_households::BIGINT AS poor_households,
       a.poor_people::BIGINT AS poor_people,
       a.other_cause_households::BIGINT AS other_cause_households
FROM by_area a
JOIN totals t USING (province_code)
LEFT JOIN ref.provinces p USING (province_code)
CROSS JOIN state.mart_as_of l;

COMMENT ON TABLE marts.causes IS 'Grain: one row per (province_code, cause); 00 = nation. Causes of poverty of the registered households (status poor, lifted or returned; removed ones excluded) as of the latest as_of_date: as main cause, and as one of the other causes. A row for every cause named in the province.';
COMMENT ON COLUMN marts.causes.as_of_date IS 'Latest processed delivery date (Asia/Shanghai).';
COMMENT ON COLUMN marts.causes.province_code IS '2-digit province code; 00 = nation.';
COMMENT ON COLUMN marts.causes.province_name IS 'Province name (Chinese, ref.provinces.name_zh); 全国 for 00.';
COMMENT ON COLUMN marts.causes.province_name_en IS 'Province name (English, ref.provinces.name_en); Nation for 00.';
COMMENT ON COLUMN marts.causes.cause IS 'Cause code of the landing contract (illness, disability, education, ...).';
COMMENT ON COLUMN marts.causes.households IS 'Registered households with this main cause.';
COMMENT ON COLUMN marts.causes.people IS 'People (household_size) in registered households with this main cause.';
COMMENT ON COLUMN marts.causes.share_of_households IS 'households / all registered households of the province, fraction; the shares of a province sum to 1.';
COMMENT ON COLUMN marts.causes.poor_households IS 'Of households, those with status poor or returned.';
COMMENT ON COLUMN marts.causes.poor_people IS 'People in poor_households.';
COMMENT ON COLUMN marts.causes.other_cause_households IS 'Registered households naming this cause among their (up to two) other causes.';
