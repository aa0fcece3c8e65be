-- Grain: one row per (as_of_date, year, province_code); 00 = the nation.
-- depends on: marts.effective_targets
-- as_of_date runs over the processed delivery dates (successful loads); year = its year.
-- Provinces: every province with a target (marts.effective_targets) or a lifted/returned
-- event dated in that year.
-- Lifted / returned people count status events dated from 1 January of the year up to
-- as_of_date, from every accepted delivery whatever its date (a late-reported exit dated
-- before as_of_date counts). Returned includes lifted -> poor corrections (to_status
-- returned, is_exit_correction). verified + paper_exit = lifted (core.exit_checks).
-- Events are first summed per (province, day), then run up per year, and each as_of date
-- takes the running total of its last event day on or before it: no join of dates x events.
CREATE OR REPLACE TABLE marts.target_progress AS
WITH as_of AS (
    SELECT DISTINCT delivery_date AS as_of_date, year(delivery_date) AS year
    FROM audit.runs
    WHERE state = 'success'
),
people_targets AS (
    SELECT year, province_code, target
    FROM marts.effective_targets
    WHERE metric = 'people_lifted'
),
daily AS (
    SELECT e.province_code, e.event_date, year(e.event_date) AS year,
           coalesce(sum(e.people) FILTER (WHERE e.to_status = 'lifted'), 0) AS lifted,
           coalesce(sum(e.people) FILTER (WHERE e.to_status = 'lifted' AND x.verified), 0)
               AS verified,
           coalesce(sum(e.people) FILTER (WHERE e.to_status = 'returned'), 0) AS returned
    FROM core.status_events e
    LEFT JOIN core.exit_checks x
      ON e.to_status = 'lifted' AND x.household_id = e.household_id
     AND x.delivery_date = e.delivery_date AND x.file_name = e.file_name
     AND x.row_number = e.row_number
    WHERE e.to_status IN ('lifted', 'returned')
      AND year(e.event_date) IN (SELECT year FROM as_of)
    GROUP BY ALL
),
daily_areas AS (
    SELECT province_code, event_date, year, lifted, verified, returned FROM daily
    UNION ALL
    SELECT '00', event_date, year, sum(lifted), sum(verified), sum(returned)
    FROM daily GROUP BY ALL
),
running AS (
    SELECT province_code, year, event_date,
           sum(lifted) OVER w AS lifted,
           sum(verified) OVER w AS verified,
           sum(returned) OVER w AS returned
    FROM daily_areas
    WINDOW w AS (PARTITION BY province_code, year ORDER BY event_date ROWS UNBOUNDED PRECEDING)
),
scopes AS (
    SELECT a.as_of_date, a.year, p.province_code
    FROM as_of a
    JOIN (SELECT year, province_code FROM people_targets WHERE province_code <> '00'
          UNION
          SELECT year, province_code FROM daily) p USING (year)
    UNION
    SELECT as_of_date, year, '00' FROM as_of
),
measured AS (
    SELECT s.as_of_date, s.year, s.province_code,
           coalesce(r.lifted, 0) AS lifted_people,
           coalesce(r.verified, 0) AS verified_people,
           coalesce(r.returned, 0) AS returned_people
    FROM scopes s
    ASOF LEFT JOIN running r
      ON r.province_code = s.province_code AND r.year = s.year AND s.as_of_date >= r.event_date
),
projected AS (
    SELECT m.*, t.target AS target_people,
           m.lifted_people - m.returned_people AS net_people,
           (m.lifted_people - m.returned_people)
           * (CASE WHEN (m.year % 4 = 0 AND m.year % 100 <> 0) OR m.year % 400 = 0
                   THEN 366 ELSE 365 END)
           / dayofyear(m.as_of_date)::DOUBLE AS run_rate_year_end
    FROM measured m
    LEFT JOIN people_targets t USING (year, province_code)
)
SELECT m.as_of_date, m.year::INTEGER AS year, m.province_code,
       p.name_zh AS province_name, p.name_en AS province_name_en, m.target_people,
       m.lifted_people::BIGINT AS lifted_people,
       m.verified_people::BIGINT AS verified_people,
       (m.lifted_people - m.verified_people)::BIGINT AS paper_exit_people,
       m.returned_people::BIGINT AS returned_people,
       m.net_people::BIGINT AS net_people,
       CASE WHEN m.target_people > 0 THEN m.net_people::DOUBLE / m.target_people END
           AS share_of_target,
       CASE WHEN m.target_people IS NOT NULL THEN m.run_rate_year_end END AS projected_year_end,
       CASE WHEN m.target_people IS NOT NULL THEN m.run_rate_year_end >= m.target_people END
           AS on_track
FROM projected m
LEFT JOIN ref.provinces p USING (province_code);

COMMENT ON TABLE marts.target_progress IS 'Grain: one row per (as_of_date, year, province_code); province_code 00 is the nation. People lifted out of poverty year-to-date (events of every accepted delivery, dated 1 January to as_of_date) against the target of marts.effective_targets. Provinces: every province with a target or a lifted/returned event dated in that year.';
COMMENT ON COLUMN marts.target_progress.as_of_date IS 'Processed delivery date (audit.runs, successful loads), Asia/Shanghai calendar date; figures count events dated on or before it.';
COMMENT ON COLUMN marts.target_progress.year IS 'Calendar year of as_of_date and of the target (Asia/Shanghai).';
COMMENT ON COLUMN marts.target_progress.province_code IS '2-digit province code; 00 = the nation (all provinces).';
COMMENT ON COLUMN marts.target_progress.province_name IS 'Province name (Chinese, ref.provinces.name_zh); 全国 for 00.';
COMMENT ON COLUMN marts.target_progress.province_name_en IS 'Province name (English, ref.provinces.name_en); Nation for 00.';
COMMENT ON COLUMN marts.target_progress.target_people IS 'Target, people to lift in the year (marts.effective_targets, metric people_lifted): a province''s delivered target, else its reference default; national = delivered 00 target, else the sum of the provinces'' delivered targets, else the reference default 00. NULL where none.';
COMMENT ON COLUMN marts.target_progress.lifted_people IS 'People (household size on the exiting record) in exits (status events to lifted) dated from 1 January of year to as_of_date, from every accepted delivery whatever its date.';
COMMENT ON COLUMN marts.target_progress.verified_people IS 'Of lifted_people, those in exits that meet every exit criterion (core.exit_checks.verified), people.';
COMMENT ON COLUMN marts.target_progress.paper_exit_people IS 'Of lifted_people, those in paper exits (a criterion failed; listed in marts.exit_audit), people. verified + paper_exit = lifted.';
COMMENT ON COLUMN marts.target_progress.returned_people IS 'People in returns (status events to returned, including lifted -> poor corrections) dated from 1 January of year to as_of_date.';
COMMENT ON COLUMN marts.target_progress.net_people IS 'lifted_people - returned_people, people.';
COMMENT ON COLUMN marts.target_progress.share_of_target IS 'net_people / target_people, fraction (1 = the target met); NULL without a target (or a target of 0).';
COMMENT ON COLUMN marts.target_progress.projected_year_end IS 'net_people * days in year / day of year of as_of_date (1 January = 1), people at the current run rate; NULL without a target.';
COMMENT ON COLUMN marts.target_progress.on_track IS 'projected_year_end >= target_people; NULL without a target.';
