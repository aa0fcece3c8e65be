-- The registered households of mart_history (a view of core.households_history: every
-- household, or the households a load recomputes) as of the end of $as_of, counted per
-- cell of marts.causes: what those households contribute to state.mart_cause_cells
-- (warehouse/mart_state.py).
-- Grain: one row per (province_code, role, cause, poor_stock, household_size).
--
-- A household is its latest version that had taken effect by $as_of (effective_date <=
-- $as_of); it is registered when that version's status is poor, lifted or returned
-- (removed households were identified by mistake). role main: its main cause (NULL when
-- none: the household still counts among the registered); role other: each of its other
-- causes (';'-joined codes in other_causes).
WITH registered AS (
    SELECT left(h.village_code, 2) AS province_code, h.status IN ('poor', 'returned') AS poor_stock,
           h.household_size, h.main_cause, h.other_causes
    FROM mart_history h
    WHERE h.effective_date <= $as_of
    QUALIFY h.version = max(h.version) OVER (PARTITION BY h.household_id)
        AND h.status <> 'removed'
),
named AS (
    SELECT province_code, 'main' AS role, main_cause AS cause, poor_stock, household_size
    FROM registered
    UNION ALL
    SELECT province_code, 'other', other.cause, poor_stock, household_size
    FROM registered,
         unnest(string_split(other_causes, ';')) AS other(cause)
    WHERE other_causes IS NOT NULL AND other.cause <> ''
)
SELECT province_code, role, cause, poor_stock, household_size, count(*) AS households
FROM named
GROUP BY ALL
