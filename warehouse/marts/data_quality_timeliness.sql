-- Grain: one row per processed delivery date.
-- Data quality, DHIS2-style: timeliness. A view, not a table: it is built from audit.runs
-- (the record of attempts, whose times differ between reruns), so it stays out of the
-- deterministic marts. The deadline for delivery date D is 02:00 Asia/Shanghai on D + 1.
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
