-- Data quality, DHIS2-style: three grains, three objects.
--
-- marts.data_quality_completeness. Grain: one row per (processed delivery date, county).
-- A county appears from the first date it delivered any file (loaded or held; late files
-- do not count); on a later date with no file it is missing.
DELETE FROM marts.data_quality_completeness;
INSERT INTO marts.data_quality_completeness
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
SELECT e.delivery_date, e.county_code, left(e.county_code, 2),
       CASE WHEN count(f.outcome) > 0 THEN 'delivered' ELSE 'missing' END,
       count(f.outcome),
       count(*) FILTER (WHERE f.outcome = 'held'),
       count(*) FILTER (WHERE f.entity = 'villages'),
       count(*) FILTER (WHERE f.entity = 'households'),
       count(*) FILTER (WHERE f.entity = 'members'),
       count(*) FILTER (WHERE f.entity = 'assistance'),
       coalesce(sum(f.received), 0),
       coalesce(sum(f.held), 0)
FROM expected e
LEFT JOIN county_files f USING (delivery_date, county_code)
GROUP BY ALL;

-- marts.data_quality_quarantine. Grain: one row per (delivery_date, entity, outcome, reason).
DELETE FROM marts.data_quality_quarantine;
INSERT INTO marts.data_quality_quarantine
SELECT delivery_date, entity, outcome, reason, count(*), count(DISTINCT file_name)
FROM audit.quarantine
GROUP BY ALL;

-- marts.data_quality_timeliness. Grain: one row per processed delivery date.
-- A view, not a table: it is built from audit.runs (the record of attempts, whose times
-- differ between reruns), so it stays out of the deterministic marts. The deadline for
-- delivery date D is 02:00 Asia/Shanghai on D + 1.
CREATE OR REPLACE VIEW marts.data_quality_timeliness AS
SELECT delivery_date, deadline_at, first_loaded_at, last_loaded_at, successful_runs,
       first_loaded_at <= deadline_at AS on_time,
       greatest(0, round((epoch(first_loaded_at) - epoch(deadline_at)) / 60, 1)) AS minutes_late
FROM (
    SELECT delivery_date,
           timezone('Asia/Shanghai', (delivery_date + INTERVAL 26 HOUR)::TIMESTAMP) AS deadline_at,
           min(loaded_at) AS first_loaded_at,
           max(loaded_at) AS last_loaded_at,
           count(*) AS successful_runs
    FROM audit.runs
    WHERE state = 'success'
    GROUP BY delivery_date
);
COMMENT ON VIEW marts.data_quality_timeliness IS 'Grain: one row per processed delivery date. Was the delivery loaded by its deadline, 02:00 Asia/Shanghai on the next day? From audit.runs (successful loads); a view because run times are attempts, not data.';
COMMENT ON COLUMN marts.data_quality_timeliness.delivery_date IS 'Delivery date (Asia/Shanghai).';
COMMENT ON COLUMN marts.data_quality_timeliness.deadline_at IS 'Deadline: delivery_date + 1 day at 02:00 Asia/Shanghai, TIMESTAMPTZ.';
COMMENT ON COLUMN marts.data_quality_timeliness.first_loaded_at IS 'Time of the first successful load of the date (audit.runs.loaded_at), TIMESTAMPTZ.';
COMMENT ON COLUMN marts.data_quality_timeliness.last_loaded_at IS 'Time of the latest successful load (a rerun), TIMESTAMPTZ.';
COMMENT ON COLUMN marts.data_quality_timeliness.successful_runs IS 'Successful loads of the date (1 + reruns).';
COMMENT ON COLUMN marts.data_quality_timeliness.on_time IS 'first_loaded_at <= deadline_at.';
COMMENT ON COLUMN marts.data_quality_timeliness.minutes_late IS 'Minutes from the deadline to the first successful load, 0 when on time, minutes (1 decimal).';
