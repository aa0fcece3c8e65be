-- The paper exits listed in marts.exit_audit, dated in the year of the latest as_of date
-- up to that date, carry the national paper_exit_people of marts.target_progress.
WITH latest AS (
    SELECT as_of_date, paper_exit_people
    FROM marts.target_progress
    WHERE province_code = '00'
      AND as_of_date = (SELECT max(as_of_date) FROM marts.target_progress)
),
listed AS (
    SELECT coalesce(sum(a.people), 0) AS people
    FROM marts.exit_audit a, latest l
    WHERE year(a.event_date) = year(l.as_of_date) AND a.event_date <= l.as_of_date
)
SELECT l.as_of_date, l.paper_exit_people, x.people
FROM latest l, listed x
WHERE l.paper_exit_people <> x.people
