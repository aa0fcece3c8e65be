-- Grain: one row per (as_of_date, year, province_code); 00 = national.
-- Every row is recomputed from all accepted deliveries, so run order does not matter.
DELETE FROM marts.target_progress;
INSERT INTO marts.target_progress
WITH as_of AS (
    SELECT DISTINCT delivery_date AS as_of_date FROM audit.runs
),
targets AS (
    SELECT year, province_code, target FROM core.targets WHERE metric = 'people_lifted'
    UNION ALL
    SELECT r.year, r.province_code, r.target FROM ref.targets r
    WHERE r.metric = 'people_lifted'
      AND NOT EXISTS (SELECT 1 FROM core.targets c
                      WHERE c.metric = 'people_lifted' AND c.year = r.year
                        AND c.province_code = r.province_code)
),
province_targets AS (
    SELECT year, province_code, target FROM targets WHERE province_code <> '00'
),
national_targets AS (
    SELECT year, coalesce(
        max(target) FILTER (WHERE province_code = '00'),
        sum(target) FILTER (WHERE province_code <> '00')) AS target
    FROM targets GROUP BY year
),
events AS (
    SELECT e.province_code, e.event_date, year(e.event_date) AS year,
           CASE WHEN e.to_status = 'lifted' THEN e.people ELSE 0 END AS lifted,
           CASE WHEN e.to_status = 'lifted' AND x.verified THEN e.people ELSE 0 END AS verified,
           CASE WHEN e.to_status = 'returned' THEN e.people ELSE 0 END AS returned
    FROM core.status_events e
    LEFT JOIN core.exit_checks x
      ON e.to_status = 'lifted' AND x.household_id = e.household_id
     AND x.delivery_date = e.delivery_date AND x.file_name = e.file_name
     AND x.row_number = e.row_number
    WHERE e.to_status IN ('lifted', 'returned')
),
scopes AS (
    SELECT a.as_of_date, year(a.as_of_date) AS year, p.province_code
    FROM as_of a
    JOIN (SELECT year, province_code FROM province_targets
          UNION SELECT year, province_code FROM events) p
      ON p.year = year(a.as_of_date)
    UNION
    SELECT as_of_date, year(as_of_date), '00' FROM as_of
),
measured AS (
    SELECT s.as_of_date, s.year, s.province_code,
           coalesce(sum(e.lifted), 0) AS lifted_people,
           coalesce(sum(e.verified), 0) AS verified_people,
           coalesce(sum(e.returned), 0) AS returned_people
    FROM scopes s
    LEFT JOIN events e
      ON e.year = s.year
     AND e.event_date <= s.as_of_date
     AND (s.province_code = '00' OR e.province_code = s.province_code)
    GROUP BY ALL
)
SELECT m.as_of_date, m.year, m.province_code,
       t.target AS target_people,
       m.lifted_people, m.verified_people, m.lifted_people - m.verified_people,
       m.returned_people,
       m.lifted_people - m.returned_people AS net_people,
       CASE WHEN t.target > 0 THEN 100.0 * (m.lifted_people - m.returned_people) / t.target END,
       CASE WHEN t.target IS NOT NULL THEN
           (m.lifted_people - m.returned_people)
           * (CASE WHEN (m.year % 4 = 0 AND m.year % 100 <> 0) OR m.year % 400 = 0 THEN 366 ELSE 365 END)
           / dayofyear(m.as_of_date)::DOUBLE END,
       CASE WHEN t.target IS NOT NULL THEN
           (m.lifted_people - m.returned_people)
           * (CASE WHEN (m.year % 4 = 0 AND m.year % 100 <> 0) OR m.year % 400 = 0 THEN 366 ELSE 365 END)
           / dayofyear(m.as_of_date)::DOUBLE >= t.target END
FROM measured m
LEFT JOIN (
    SELECT year, province_code, target FROM province_targets
    UNION ALL SELECT year, '00', target FROM national_targets
) t ON t.year = m.year AND t.province_code = m.province_code;
