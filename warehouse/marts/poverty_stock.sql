-- Grain: one row per (as_of_date, admin_level, admin_code).
-- Registered households and people by status as of the end of each processed delivery date,
-- incidence, and FGT / Watts measures over the poor stock (status poor or returned).
--
-- As of date D, a household (village) is its latest version that had taken effect by D
-- (effective_date <= D; a parked row takes effect when its parent arrives). Rather than
-- joining every as_of date to every household, each version is a span
-- [from_date, until_date) of dates, where until_date is the earliest effective date of a
-- later version. A span adds its measures on from_date and takes them away on
-- until_date; the stock on D is the running sum of these steps up to D. All measures are
-- additive (sums of integers, or of per-household FGT terms held as DECIMAL(38,15) so the
-- steps cancel exactly and the sums do not depend on the order of addition). The
-- households' steps come summed per (village, date) from state.mart_household_steps,
-- which every load keeps up to date (warehouse/mart_state.py); the villages' are taken
-- here from core.villages_history.
--
-- nation / province / county rows for every as_of date; township (first 9 digits of the
-- village code) and village rows for the latest as_of date and calendar month-end dates.
CREATE OR REPLACE TABLE marts.poverty_stock AS
WITH as_of AS (
    SELECT DISTINCT delivery_date AS as_of_date FROM audit.runs WHERE state = 'success'
),
detail_dates AS (
    SELECT as_of_date FROM as_of
    WHERE as_of_date = last_day(as_of_date) OR as_of_date = (SELECT max(as_of_date) FROM as_of)
),
household_steps AS (
    SELECT village_code, step_date AS d,
           households_poor, households_lifted, households_returned, households_removed,
           people_poor, people_lifted, people_returned, people_removed,
           0::BIGINT AS villages,
           0::BIGINT AS poor_villages,
           0::BIGINT AS rural_population,
           fgt_people, fgt_poor_people, fgt_gap, fgt_gap_sq, fgt_watts
    FROM state.mart_household_steps
),
village_spans AS (
    SELECT v.village_code, v.is_poor_village, v.rural_population,
           v.effective_date AS from_date,
           min(v.effective_date) OVER (
               PARTITION BY v.village_code ORDER BY v.version
               ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS until_date
    FROM core.villages_history v
    WHERE v.effective_date IS NOT NULL
),
village_measures AS (
    SELECT village_code, from_date, until_date,
           0::BIGINT AS households_poor, 0::BIGINT AS households_lifted,
           0::BIGINT AS households_returned, 0::BIGINT AS households_removed,
           0::BIGINT AS people_poor, 0::BIGINT AS people_lifted,
           0::BIGINT AS people_returned, 0::BIGINT AS people_removed,
           1::BIGINT AS villages,
           coalesce(is_poor_village, false)::BIGINT AS poor_villages,
           coalesce(rural_population, 0)::BIGINT AS rural_population,
           0::BIGINT AS fgt_people, 0::BIGINT AS fgt_poor_people,
           0::DECIMAL(38,15) AS fgt_gap, 0::DECIMAL(38,15) AS fgt_gap_sq,
           0::DECIMAL(38,15) AS fgt_watts
    FROM village_spans
    WHERE until_date IS NULL OR until_date > from_date
),
steps AS (
    SELECT * FROM household_steps
    UNION ALL BY NAME
    SELECT village_code, from_date AS d,
           COLUMNS(* EXCLUDE (village_code, from_date, until_date))
    FROM village_measures
    UNION ALL BY NAME
    SELECT village_code, until_date AS d,
           -COLUMNS(* EXCLUDE (village_code, from_date, until_date))
    FROM village_measures
    WHERE until_date IS NOT NULL
),
village_steps AS (
    SELECT village_code AS admin_code, d, sum(COLUMNS(* EXCLUDE (village_code, d)))
    FROM steps
    GROUP BY ALL
),
county_steps AS (
    SELECT left(admin_code, 6) AS admin_code, d, sum(COLUMNS(* EXCLUDE (admin_code, d)))
    FROM village_steps
    GROUP BY ALL
),
village_running AS (
    SELECT admin_code, d,
           sum(COLUMNS(* EXCLUDE (admin_code, d))) OVER (
               PARTITION BY admin_code ORDER BY d ROWS UNBOUNDED PRECEDING)
    FROM village_steps
),
county_running AS (
    SELECT admin_code, d,
           sum(COLUMNS(* EXCLUDE (admin_code, d))) OVER (
               PARTITION BY admin_code ORDER BY d ROWS UNBOUNDED PRECEDING)
    FROM county_steps
),
county_grid AS (
    SELECT c.admin_code, a.as_of_date
    FROM (SELECT DISTINCT admin_code FROM county_steps) c CROSS JOIN as_of a
),
village_grid AS (
    SELECT v.admin_code, a.as_of_date
    FROM (SELECT DISTINCT admin_code FROM village_steps) v CROSS JOIN detail_dates a
),
county_rows AS (
    SELECT g.as_of_date, g.admin_code, r.* EXCLUDE (admin_code, d)
    FROM county_grid g
    ASOF JOIN county_running r ON r.admin_code = g.admin_code AND g.as_of_date >= r.d
),
village_rows AS (
    SELECT g.as_of_date, g.admin_code, r.* EXCLUDE (admin_code, d)
    FROM village_grid g
    ASOF JOIN village_running r ON r.admin_code = g.admin_code AND g.as_of_date >= r.d
),
all_rows AS (
    SELECT as_of_date, 'nation' AS admin_level, '00' AS admin_code,
           sum(COLUMNS(* EXCLUDE (as_of_date, admin_code)))
    FROM county_rows GROUP BY ALL
    UNION ALL
    SELECT as_of_date, 'province', left(admin_code, 2),
           sum(COLUMNS(* EXCLUDE (as_of_date, admin_code)))
    FROM county_rows GROUP BY ALL
    UNION ALL
    SELECT as_of_date, 'county', admin_code, COLUMNS(* EXCLUDE (as_of_date, admin_code))
    FROM county_rows
    UNION ALL
    SELECT as_of_date, 'township', left(admin_code, 9),
           sum(COLUMNS(* EXCLUDE (as_of_date, admin_code)))
    FROM village_rows GROUP BY ALL
    UNION ALL
    SELECT as_of_date, 'village', admin_code, COLUMNS(* EXCLUDE (as_of_date, admin_code))
    FROM village_rows
),
area_names AS (
    SELECT CASE WHEN province_code = '00' THEN 'nation' ELSE 'province' END AS admin_level,
           province_code AS admin_code, name_zh AS admin_name, name_en AS admin_name_en
    FROM ref.provinces
    UNION ALL
    SELECT 'county', county_code, name_zh, name_en FROM ref.counties
    UNION ALL
    SELECT 'village', village_code, village_name, NULL FROM core.villages
)
SELECT as_of_date, admin_level, admin_code, admin_name, admin_name_en,
       households_poor::BIGINT AS households_poor,
       households_lifted::BIGINT AS households_lifted,
       households_returned::BIGINT AS households_returned,
       households_removed::BIGINT AS households_removed,
       (households_poor + households_lifted + households_returned + households_removed)::BIGINT
           AS households_total,
       people_poor::BIGINT AS people_poor,
       people_lifted::BIGINT AS people_lifted,
       people_returned::BIGINT AS people_returned,
       people_removed::BIGINT AS people_removed,
       (people_poor + people_lifted + people_returned + people_removed)::BIGINT AS people_total,
       villages::BIGINT AS villages,
       poor_villages::BIGINT AS poor_villages,
       rural_population::BIGINT AS rural_population,
       (people_poor + people_returned)::BIGINT AS poor_stock_people,
       CASE WHEN rural_population > 0 THEN (people_poor + people_returned) / rural_population END
           AS incidence,
       fgt_people::BIGINT AS fgt_people,
       CASE WHEN fgt_people > 0 THEN fgt_poor_people / fgt_people END AS fgt_p0,
       CASE WHEN fgt_people > 0 THEN fgt_gap::DOUBLE / fgt_people END AS fgt_p1,
       CASE WHEN fgt_people > 0 THEN fgt_gap_sq::DOUBLE / fgt_people END AS fgt_p2,
       CASE WHEN fgt_people > 0 THEN fgt_watts::DOUBLE / fgt_people END AS fgt_watts
FROM all_rows
LEFT JOIN area_names USING (admin_level, admin_code)
WHERE households_poor + households_lifted + households_returned + households_removed > 0
   OR villages > 0;

COMMENT ON TABLE marts.poverty_stock IS 'Grain: one row per (as_of_date, admin_level, admin_code). Registered households and people by status as of the end of as_of_date (each household''s latest version that had taken effect by then), incidence and FGT/Watts measures over the poor stock (status poor or returned), person-weighted, each income against the line of its income year. nation/province/county rows for every as_of_date; township/village rows for the latest as_of_date and calendar month-end as_of_dates only.';
COMMENT ON COLUMN marts.poverty_stock.as_of_date IS 'Processed delivery date (audit.runs, successful loads), Asia/Shanghai; the state at the end of that day.';
COMMENT ON COLUMN marts.poverty_stock.admin_level IS 'nation, province, county, township or village.';
COMMENT ON COLUMN marts.poverty_stock.admin_code IS 'Code of the area: 00 (nation), 2-digit province, 6-digit county, 9-digit township, 12-digit village (prefixes of the village code).';
COMMENT ON COLUMN marts.poverty_stock.admin_name IS 'Name of the area (Chinese): ref.provinces.name_zh for the nation (全国) and provinces, ref.counties.name_zh for counties, the village''s current name (core.villages) for villages; NULL for townships and unnamed areas.';
COMMENT ON COLUMN marts.poverty_stock.admin_name_en IS 'Name of the area in English (ref.provinces, ref.counties); NULL for townships, villages and unnamed areas.';
COMMENT ON COLUMN marts.poverty_stock.households_poor IS 'Households with status poor, households.';
COMMENT ON COLUMN marts.poverty_stock.households_lifted IS 'Households with status lifted, households.';
COMMENT ON COLUMN marts.poverty_stock.households_returned IS 'Households with status returned (fell back after an exit), households.';
COMMENT ON COLUMN marts.poverty_stock.households_removed IS 'Households with status removed (identified by mistake), households.';
COMMENT ON COLUMN marts.poverty_stock.households_total IS 'All registered households, every status, households.';
COMMENT ON COLUMN marts.poverty_stock.people_poor IS 'People (household_size) in households with status poor.';
COMMENT ON COLUMN marts.poverty_stock.people_lifted IS 'People (household_size) in households with status lifted.';
COMMENT ON COLUMN marts.poverty_stock.people_returned IS 'People (household_size) in households with status returned.';
COMMENT ON COLUMN marts.poverty_stock.people_removed IS 'People (household_size) in households with status removed.';
COMMENT ON COLUMN marts.poverty_stock.people_total IS 'People in all registered households, every status.';
COMMENT ON COLUMN marts.poverty_stock.villages IS 'Villages with a record as of the date, villages.';
COMMENT ON COLUMN marts.poverty_stock.poor_villages IS 'Of villages, those registered as poor villages (is_poor_village).';
COMMENT ON COLUMN marts.poverty_stock.rural_population IS 'Sum of the villages'' rural hukou population as of the date, people.';
COMMENT ON COLUMN marts.poverty_stock.poor_stock_people IS 'people_poor + people_returned: the remaining poor, people.';
COMMENT ON COLUMN marts.poverty_stock.incidence IS 'Poverty incidence, poor_stock_people / rural_population, fraction (0.02 = 2%); NULL when rural_population is 0.';
COMMENT ON COLUMN marts.poverty_stock.fgt_people IS 'People in poor-stock households (poor or returned) with a per-capita income and a poverty line for its income year: the population of the FGT measures.';
COMMENT ON COLUMN marts.poverty_stock.fgt_p0 IS 'Headcount ratio over fgt_people: share of people with per-capita income y below the line z of their income year, fraction; NULL when fgt_people is 0.';
COMMENT ON COLUMN marts.poverty_stock.fgt_p1 IS 'Poverty gap index: person-weighted mean of max(0, (z - y) / z), fraction of the line (y as delivered; a negative income gives a gap above 1); NULL when fgt_people is 0.';
COMMENT ON COLUMN marts.poverty_stock.fgt_p2 IS 'Squared poverty gap (severity): person-weighted mean of max(0, (z - y) / z)^2; NULL when fgt_people is 0.';
COMMENT ON COLUMN marts.poverty_stock.fgt_watts IS 'Watts index: person-weighted mean of ln(z / y) over y < z (0 otherwise), incomes <= 0 bottom-coded to 1 yuan, natural log units; NULL when fgt_people is 0.';
