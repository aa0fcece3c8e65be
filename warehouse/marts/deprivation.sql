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
--
-- The households come counted per cell (province, household_size, the five indicators,
-- income poverty) from state.mart_deprivation_cells, which every load keeps up to date as
-- of the latest as_of date (state.mart_as_of; warehouse/mart_state.py): a sum over
-- households is a sum over cells of households x the cell's value. A sum of household_size
-- that no household with a size enters stays NULL, as it would household by household.
CREATE OR REPLACE TABLE marts.deprivation AS
WITH cells AS (
    SELECT province_code, households,
           households * household_size::BIGINT AS w,
           food_clothing, education, medical, housing, water,
           food_clothing::INT + education::INT + medical::INT + housing::INT + water::INT
               AS indicators,
           income_poor
    FROM state.mart_deprivation_cells
),
flagged AS (
    -- Equal weights 1/5 and k = 1/3: deprived <=> indicators / 5 >= 1/3 <=> 3 * indicators >= 5.
    SELECT *, 3 * indicators >= 5 AS deprived FROM cells
),
households AS (
    SELECT province_code, households, w, food_clothing, education, medical, housing, water,
           indicators, deprived, income_poor
    FROM flagged
    UNION ALL
    SELECT '00', households, w, food_clothing, education, medical, housing, water,
           indicators, deprived, income_poor
    FROM flagged
)
SELECT l.as_of_date, h.province_code, p.name_zh AS province_name,
       p.name_en AS province_name_en,
       sum(households)::BIGINT AS households,
       sum(w)::BIGINT AS people,
       coalesce(sum(households) FILTER (WHERE deprived), 0)::BIGINT AS deprived_households,
       coalesce(sum(w) FILTER (WHERE deprived), 0)::BIGINT AS deprived_people,
       coalesce(sum(w) FILTER (WHERE deprived), 0) / sum(w) AS headcount_h,
       sum(w * indicators) FILTER (WHERE deprived) / (5 * sum(w) FILTER (WHERE deprived))
           AS intensity_a,
       coalesce(sum(w * indicators) FILTER (WHERE deprived), 0) / (5 * sum(w))
           AS adjusted_headcount_m0,
       coalesce(sum(w) FILTER (WHERE food_clothing), 0)::BIGINT AS food_clothing_deprived_people,
       coalesce(sum(w) FILTER (WHERE education), 0)::BIGINT AS education_deprived_people,
       coalesce(sum(w) FILTER (WHERE medical), 0)::BIGINT AS medical_deprived_people,
       coalesce(sum(w) FILTER (WHERE housing), 0)::BIGINT AS housing_deprived_people,
       coalesce(sum(w) FILTER (WHERE water), 0)::BIGINT AS water_deprived_people,
       coalesce(sum(households) FILTER (WHERE income_poor AND deprived), 0)::BIGINT
           AS income_poor_deprived_households,
       coalesce(sum(w) FILTER (WHERE income_poor AND deprived), 0)::BIGINT
           AS income_poor_deprived_people,
       coalesce(sum(households) FILTER (WHERE income_poor AND NOT deprived), 0)::BIGINT
           AS income_poor_only_households,
       coalesce(sum(w) FILTER (WHERE income_poor AND NOT deprived), 0)::BIGINT
           AS income_poor_only_people,
       coalesce(sum(households) FILTER (WHERE NOT income_poor AND deprived), 0)::BIGINT
           AS deprived_only_households,
       coalesce(sum(w) FILTER (WHERE NOT income_poor AND deprived), 0)::BIGINT
           AS deprived_only_people,
       coalesce(sum(households) FILTER (WHERE NOT income_poor AND NOT deprived), 0)::BIGINT
           AS neither_households,
       coalesce(sum(w) FILTER (WHERE NOT income_poor AND NOT deprived), 0)::BIGINT
           AS neither_people,
       coalesce(sum(households) FILTER (WHERE income_poor IS NULL), 0)::BIGINT
           AS income_unknown_households,
       coalesce(sum(w) FILTER (WHERE income_poor IS NULL), 0)::BIGINT AS income_unknown_people
FROM households h
LEFT JOIN ref.provinces p USING (province_code)
CROSS JOIN state.mart_as_of l
GROUP BY ALL;

COMMENT ON TABLE marts.deprivation IS 'Grain: one row per (as_of_date, province_code) for the latest as_of_date; 00 = nation. MPI-style (Alkire-Foster) deprivation of the poor stock (households with status poor or returned as of the date): five indicators (food and clothing, education, medical care, housing, drinking water), equal weights 1/5, poverty cut-off k = 1/3 (deprived in at least 2 of 5). Person-weighted (weight = household_size). Plus the overlap of income poverty and deprivation.';
COMMENT ON COLUMN marts.deprivation.as_of_date IS 'Latest processed delivery date (Asia/Shanghai); household records as of the end of that day, members as currently known, ages at that date.';
COMMENT ON COLUMN marts.deprivation.province_code IS '2-digit province code; 00 = nation.';
COMMENT ON COLUMN marts.deprivation.province_name IS 'Province name (Chinese, ref.provinces.name_zh); 全国 for 00.';
COMMENT ON COLUMN marts.deprivation.province_name_en IS 'Province name (English, ref.provinces.name_en); Nation for 00.';
COMMENT ON COLUMN marts.deprivation.households IS 'Households with status poor or returned.';
COMMENT ON COLUMN marts.deprivation.people IS 'People (household_size) in those households.';
COMMENT ON COLUMN marts.deprivation.deprived_households IS 'Households whose weighted deprivation score is >= k = 1/3.';
COMMENT ON COLUMN marts.deprivation.deprived_people IS 'People in deprived_households.';
COMMENT ON COLUMN marts.deprivation.headcount_h IS 'H = deprived_people / people, fraction; NULL when people is 0.';
COMMENT ON COLUMN marts.deprivation.intensity_a IS 'A = person-weighted mean deprivation score (share of weighted indicators, 0-1) among the deprived; NULL when nobody is deprived.';
COMMENT ON COLUMN marts.deprivation.adjusted_headcount_m0 IS 'M0 = H x A, fraction; NULL when people is 0.';
COMMENT ON COLUMN marts.deprivation.food_clothing_deprived_people IS 'People in households whose food and clothing is not secure (uncensored).';
COMMENT ON COLUMN marts.deprivation.education_deprived_people IS 'People in households with an active member aged 6-15 at as_of_date out of school (uncensored).';
COMMENT ON COLUMN marts.deprivation.medical_deprived_people IS 'People in households with an active member not medically insured (uncensored).';
COMMENT ON COLUMN marts.deprivation.housing_deprived_people IS 'People in households whose housing is not safe (uncensored).';
COMMENT ON COLUMN marts.deprivation.water_deprived_people IS 'People in households whose drinking water is not safe (uncensored).';
COMMENT ON COLUMN marts.deprivation.income_poor_deprived_households IS 'Households income-poor (per-capita income below the line of its income year) and deprived.';
COMMENT ON COLUMN marts.deprivation.income_poor_deprived_people IS 'People in income_poor_deprived_households.';
COMMENT ON COLUMN marts.deprivation.income_poor_only_households IS 'Households income-poor and not deprived.';
COMMENT ON COLUMN marts.deprivation.income_poor_only_people IS 'People in income_poor_only_households.';
COMMENT ON COLUMN marts.deprivation.deprived_only_households IS 'Households deprived and not income-poor.';
COMMENT ON COLUMN marts.deprivation.deprived_only_people IS 'People in deprived_only_households.';
COMMENT ON COLUMN marts.deprivation.neither_households IS 'Households neither income-poor nor deprived.';
COMMENT ON COLUMN marts.deprivation.neither_people IS 'People in neither_households.';
COMMENT ON COLUMN marts.deprivation.income_unknown_households IS 'Households without a per-capita income or without a poverty line for its income year (outside the four cells).';
COMMENT ON COLUMN marts.deprivation.income_unknown_people IS 'People in income_unknown_households.';
