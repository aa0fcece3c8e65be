-- Grain: one row per (year, province_code, metric); province_code 00 = national.
-- The target in force. A province: its delivered target (core.targets keeps the latest
-- delivery of each key), else its reference default (ref.targets). National: the delivered
-- 00 target, else the sum of the provinces' delivered targets, else the reference default 00.
CREATE OR REPLACE TABLE marts.effective_targets AS
WITH keys AS (
    SELECT year, metric FROM core.targets
    UNION
    SELECT year, metric FROM ref.targets
),
provinces AS (
    SELECT year, province_code, metric, target, 'delivered' AS target_source,
           delivery_date AS delivered_on
    FROM core.targets
    WHERE province_code <> '00'
    UNION ALL
    SELECT r.year, r.province_code, r.metric, r.target, 'reference_default', NULL::DATE
    FROM ref.targets r
    ANTI JOIN core.targets c USING (year, province_code, metric)
    WHERE r.province_code <> '00'
),
delivered_provinces AS (
    SELECT year, metric, sum(target)::BIGINT AS target, max(delivery_date) AS delivered_on
    FROM core.targets
    WHERE province_code <> '00'
    GROUP BY ALL
),
national AS (
    SELECT k.year, '00' AS province_code, k.metric,
           coalesce(d.target, p.target, r.target) AS target,
           CASE WHEN d.target IS NOT NULL THEN 'delivered'
                WHEN p.target IS NOT NULL THEN 'sum_of_delivered_provinces'
                WHEN r.target IS NOT NULL THEN 'reference_default' END AS target_source,
           CASE WHEN d.target IS NOT NULL THEN d.delivery_date
                WHEN p.target IS NOT NULL THEN p.delivered_on END AS delivered_on
    FROM keys k
    LEFT JOIN core.targets d
      ON d.year = k.year AND d.metric = k.metric AND d.province_code = '00'
    LEFT JOIN delivered_provinces p ON p.year = k.year AND p.metric = k.metric
    LEFT JOIN ref.targets r
      ON r.year = k.year AND r.metric = k.metric AND r.province_code = '00'
)
SELECT t.year, t.province_code, p.name_zh AS province_name, p.name_en AS province_name_en,
       t.metric, t.target, t.target_source, t.delivered_on
FROM (
    SELECT year, province_code, metric, target, target_source, delivered_on FROM provinces
    UNION ALL
    SELECT year, province_code, metric, target, target_source, delivered_on FROM national
    WHERE target IS NOT NULL
) t
LEFT JOIN ref.provinces p USING (province_code);

COMMENT ON TABLE marts.effective_targets IS 'Grain: one row per (year, province_code, metric). The target in force: a province''s delivered target (core.targets, latest delivery wins), else its reference default (ref.targets); national (00) = the delivered 00 target, else the sum of the provinces'' delivered targets, else the reference default 00.';
COMMENT ON COLUMN marts.effective_targets.year IS 'Calendar year the target is for (cumulative targets: the deadline year).';
COMMENT ON COLUMN marts.effective_targets.province_code IS '2-digit province code; 00 = national.';
COMMENT ON COLUMN marts.effective_targets.province_name IS 'Province name (Chinese, ref.provinces.name_zh); 全国 for 00; NULL for a code ref.provinces lacks.';
COMMENT ON COLUMN marts.effective_targets.province_name_en IS 'Province name (English, ref.provinces.name_en); Nation for 00; NULL for a code ref.provinces lacks.';
COMMENT ON COLUMN marts.effective_targets.metric IS 'people_lifted (people), ecommerce_pilot_villages (villages), ecommerce_villages_cumulative (villages).';
COMMENT ON COLUMN marts.effective_targets.target IS 'Target value, in the unit of the metric (people or villages).';
COMMENT ON COLUMN marts.effective_targets.target_source IS 'delivered (core.targets), sum_of_delivered_provinces (national only) or reference_default (ref.targets).';
COMMENT ON COLUMN marts.effective_targets.delivered_on IS 'Delivery date (Asia/Shanghai) of the delivered target; for a sum of provinces the latest of their delivery dates; NULL for a reference default.';
