-- Grain: one row per (processed delivery date, county).
-- Data quality, DHIS2-style: completeness. A county appears from the first date it delivered
-- any file (loaded or held; late files do not count); on a later date with no file it is
-- missing.
CREATE OR REPLACE TABLE marts.data_quality_completeness AS
WITH dates AS (
    SELECT DISTINCT delivery_date FROM audit.runs WHERE state = 'success'
),
county_files AS (
    SELECT f.delivery_date, f.source AS county_code, f.entity, f.outcome,
           r.received, r.held
    FROM audit.files f
    LEFT JOIN audit.reconciliation r USING (delivery_date, file_name)
    WHERE f.outcome <> 'late' AND regexp_full_match(f.source, '[0-9]{6}')
),
first_seen AS (
    SELECT county_code, min(delivery_date) AS first_date FROM county_files GROUP BY ALL
),
expected AS (
    SELECT d.delivery_date, c.county_code
    FROM dates d
    JOIN first_seen c ON c.first_date <= d.delivery_date
)
SELECT e.delivery_date, e.county_code, c.name_zh AS county_name, c.name_en AS county_name_en,
       left(e.county_code, 2) AS province_code, p.name_zh AS province_name,
       p.name_en AS province_name_en,
       CASE WHEN count(f.outcome) > 0 THEN 'delivered' ELSE 'missing' END AS status,
       count(f.outcome) AS files,
       count(*) FILTER (WHERE f.outcome = 'held') AS files_held,
       count(*) FILTER (WHERE f.entity = 'villages') AS villages_files,
       count(*) FILTER (WHERE f.entity = 'households') AS households_files,
       count(*) FILTER (WHERE f.entity = 'members') AS members_files,
       count(*) FILTER (WHERE f.entity = 'assistance') AS assistance_files,
       coalesce(sum(f.received), 0)::BIGINT AS rows_received,
       coalesce(sum(f.held), 0)::BIGINT AS rows_held
FROM expected e
LEFT JOIN county_files f USING (delivery_date, county_code)
LEFT JOIN ref.counties c ON c.county_code = e.county_code
LEFT JOIN ref.provinces p ON p.province_code = left(e.county_code, 2)
GROUP BY ALL;

COMMENT ON TABLE marts.data_quality_completeness IS 'Grain: one row per (processed delivery date, county) for every county that delivered on that date or on an earlier one. A county that delivered before and sent nothing on the date is missing. Late files are not counted.';
COMMENT ON COLUMN marts.data_quality_completeness.delivery_date IS 'Processed delivery date (Asia/Shanghai).';
COMMENT ON COLUMN marts.data_quality_completeness.county_code IS '6-digit county code (the source part of the file names).';
COMMENT ON COLUMN marts.data_quality_completeness.county_name IS 'County name (Chinese, ref.counties.name_zh); NULL where ref.counties does not name the county.';
COMMENT ON COLUMN marts.data_quality_completeness.county_name_en IS 'County name (English, ref.counties.name_en); NULL where ref.counties does not name the county.';
COMMENT ON COLUMN marts.data_quality_completeness.province_code IS '2-digit province code.';
COMMENT ON COLUMN marts.data_quality_completeness.province_name IS 'Province name (Chinese, ref.provinces.name_zh).';
COMMENT ON COLUMN marts.data_quality_completeness.province_name_en IS 'Province name (English, ref.provinces.name_en).';
COMMENT ON COLUMN marts.data_quality_completeness.status IS 'delivered (at least one file, loaded or held) or missing.';
COMMENT ON COLUMN marts.data_quality_completeness.files IS 'Files the county delivered on the date.';
COMMENT ON COLUMN marts.data_quality_completeness.files_held IS 'Of files, those held whole (unreadable, manifest mismatch, mostly invalid, ...).';
COMMENT ON COLUMN marts.data_quality_completeness.villages_files IS 'Files of entity villages.';
COMMENT ON COLUMN marts.data_quality_completeness.households_files IS 'Files of entity households.';
COMMENT ON COLUMN marts.data_quality_completeness.members_files IS 'Files of entity members.';
COMMENT ON COLUMN marts.data_quality_completeness.assistance_files IS 'Files of entity assistance.';
COMMENT ON COLUMN marts.data_quality_completeness.rows_received IS 'Data rows received in those files (audit.reconciliation), rows.';
COMMENT ON COLUMN marts.data_quality_completeness.rows_held IS 'Of rows_received, rows held (including conflicts), rows.';
