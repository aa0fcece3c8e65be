-- Grain: one row per (as_of_date, year, province_code); 00 = the nation.
-- as_of_date runs over the processed delivery dates (successful loads); year = its year.
-- Provinces: every province with a target (marts.effective_targets, 10_effective_targets.sql)
-- or a lifted/returned event dated in that year.
-- Lifted / returned people count status events dated from 1 January of the year up to
-- as_of_date, from every accepted delivery whatever its date (a late-reported exit dated
-- before as_of_date counts). Returned includes lifted -> poor corrections (to_status
-- returned, is_exit_correction). verified + paper_exit = lifted (core.exit_checks).
-- Events are first summed per (province, day), then run up per year, and each as_of date
-- takes the running total of its last event day on or before it: no join of dates x events.
DELETE FROM marts.target_progress;
INSERT INTO marts.target_progress
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
SELECT as_of_date, year, province_code, target_people,
       lifted_people, verified_people, lifted_people - verified_people AS paper_exit_people,
       returned_people, net_people,
       CASE WHEN target_people > 0 THEN 100 * net_people::DOUBLE / target_people END,
       CASE WHEN target_people IS NOT NULL THEN run_rate_year_end END,
       CASE WHEN target_people IS NOT NULL THEN run_rate_year_end >= target_people END
FROM projected;
