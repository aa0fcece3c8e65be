-- Grain: one row per (province_code, cause); 00 = the nation.
-- Causes of poverty of the registered households (status poor, lifted or returned; removed
-- households were identified by mistake and are left out) as of the end of the latest
-- as_of date: each household's main cause, and its other causes (up to two, ';'-joined
-- codes in core.households_history.other_causes).
CREATE OR REPLACE TABLE marts.causes AS
WITH latest AS (
    SELECT max(delivery_date) AS as_of_date FROM audit.runs WHERE state = 'success'
),
households AS (
    SELECT h.household_id, left(h.village_code, 2) AS province_code, h.status,
           h.household_size::BIGINT AS people, h.main_cause, h.other_causes
    FROM core.households_history h, latest
    WHERE h.effective_date <= latest.as_of_date
    QUALIFY h.version = max(h.version) OVER (PARTITION BY h.household_id)
),
registered AS (
    SELECT * FROM households WHERE status <> 'removed'
),
named AS (
    SELECT province_code, main_cause AS cause, 1 AS households, people,
           (status IN ('poor', 'returned'))::INT AS poor_households,
           CASE WHEN status IN ('poor', 'returned') THEN people ELSE 0 END AS poor_people,
           0 AS other_cause_households
    FROM registered
    WHERE main_cause IS NOT NULL
    UNION ALL
    SELECT province_code, other.cause, 0, 0, 0, 0, 1
    FROM registered,
         unnest(string_split(other_causes, ';')) AS other(cause)
    WHERE other_causes IS NOT NULL AND other.cause <> ''
),
by_area AS (
    SELECT province_code, cause, sum(COLUMNS(* EXCLUDE (province_code, cause)))
    FROM named GROUP BY ALL
    UNION ALL
    SELECT '00', cause, sum(COLUMNS(* EXCLUDE (province_code, cause)))
    FROM named GROUP BY ALL
),
totals AS (
    SELECT province_code, count(*) AS households FROM registered GROUP BY ALL
    UNION ALL
    SELECT '00', count(*) FROM registered
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
CROSS JOIN latest l;

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
