-- Grain: one row per (as_of_date, province_code) for the latest as_of date; 00 = the nation.
-- MPI-style (Alkire-Foster) deprivation of the poor stock: households with status poor or
-- returned in the record in force at the end of the latest as_of date; members as currently
-- known (core.members, active ones), ages at that date. Five indicators, each weighted 1/5:
--   food_clothing  food and clothing not secure
--   education      an active member aged 6-15 out of school
--   medical        an active member not medically insured
--   housing        housing not safe
--   water          drinking water not safe
-- A household is deprived when its score (deprived indicators / 5) is >= k = 1/3, i.e. in
-- at least 2 of the 5. H = deprived people / people; A = mean score of the deprived;
-- M0 = H x A; all person-weighted (weight = household_size). Sums are kept in integers
-- (people x indicators) so the ratios are exact and order-independent.
-- Income poverty for the overlap: per-capita income below the line of its income year.
DELETE FROM marts.deprivation;
INSERT INTO marts.deprivation
WITH latest AS (
    SELECT max(delivery_date) AS as_of_date FROM audit.runs WHERE state = 'success'
),
poor_stock AS (
    SELECT h.household_id, left(h.village_code, 2) AS province_code,
           h.household_size::BIGINT AS w,
           h.per_capita_income_yuan, h.income_year,
           NOT coalesce(h.food_clothing_secure, true) AS food_clothing,
           NOT coalesce(h.housing_safe, true) AS housing,
           NOT coalesce(h.drinking_water_safe, true) AS water,
           h.status
    FROM core.households_history h, latest
    WHERE h.effective_date <= latest.as_of_date
    QUALIFY h.version = max(h.version) OVER (PARTITION BY h.household_id)
),
members AS (
    SELECT m.household_id,
           bool_or(
               date_diff('year', m.birth_date, l.as_of_date)
               - (strftime(m.birth_date, '%m%d') > strftime(l.as_of_date, '%m%d'))::INT
               BETWEEN 6 AND 15
               AND NOT coalesce(m.in_school, true)) AS education,
           bool_or(NOT coalesce(m.medical_insured, true)) AS medical
    FROM core.members m
    CROSS JOIN latest l
    SEMI JOIN poor_stock p ON p.household_id = m.household_id AND p.status IN ('poor', 'returned')
    WHERE m.member_status = 'active'
    GROUP BY ALL
),
scored AS (
    SELECT p.province_code, p.w, p.food_clothing, p.housing, p.water,
           coalesce(m.education, false) AS education,
           coalesce(m.medical, false) AS medical,
           p.food_clothing::INT + coalesce(m.education, false)::INT
           + coalesce(m.medical, false)::INT + p.housing::INT + p.water::INT AS indicators,
           p.per_capita_income_yuan < l.line_yuan_per_person AS income_poor
    FROM poor_stock p
    LEFT JOIN members m USING (household_id)
    LEFT JOIN ref.poverty_lines l ON l.year = p.income_year
    WHERE p.status IN ('poor', 'returned')
),
flagged AS (
    -- Equal weights 1/5 and k = 1/3: deprived <=> indicators / 5 >= 1/3 <=> 3 * indicators >= 5.
    SELECT *, 3 * indicators >= 5 AS deprived FROM scored
),
households AS (
    SELECT province_code, w, food_clothing, education, medical, housing, water, indicators,
           deprived, income_poor
    FROM flagged
    UNION ALL
    SELECT '00', w, food_clothing, education, medical, housing, water, indicators,
           deprived, income_poor
    FROM flagged
)
SELECT l.as_of_date, h.province_code,
       count(*), sum(w),
       count(*) FILTER (WHERE deprived),
       coalesce(sum(w) FILTER (WHERE deprived), 0),
       coalesce(sum(w) FILTER (WHERE deprived), 0) / sum(w),
       sum(w * indicators) FILTER (WHERE deprived) / (5 * sum(w) FILTER (WHERE deprived)),
       coalesce(sum(w * indicators) FILTER (WHERE deprived), 0) / (5 * sum(w)),
       coalesce(sum(w) FILTER (WHERE food_clothing), 0),
       coalesce(sum(w) FILTER (WHERE education), 0),
       coalesce(sum(w) FILTER (WHERE medical), 0),
       coalesce(sum(w) FILTER (WHERE housing), 0),
       coalesce(sum(w) FILTER (WHERE water), 0),
       count(*) FILTER (WHERE income_poor AND deprived),
       coalesce(sum(w) FILTER (WHERE income_poor AND deprived), 0),
       count(*) FILTER (WHERE income_poor AND NOT deprived),
       coalesce(sum(w) FILTER (WHERE income_poor AND NOT deprived), 0),
       count(*) FILTER (WHERE NOT income_poor AND deprived),
       coalesce(sum(w) FILTER (WHERE NOT income_poor AND deprived), 0),
       count(*) FILTER (WHERE NOT income_poor AND NOT deprived),
       coalesce(sum(w) FILTER (WHERE NOT income_poor AND NOT deprived), 0),
       count(*) FILTER (WHERE income_poor IS NULL),
       coalesce(sum(w) FILTER (WHERE income_poor IS NULL), 0)
FROM households h
CROSS JOIN latest l
GROUP BY ALL;
