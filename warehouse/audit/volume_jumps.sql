-- Loaded files of a county whose delivery volume (rows of one entity on one date) jumps
-- above 3x or falls below a third of the median of its own earlier change deliveries, once
-- it has five (with 10 rows of slack for small numbers). Grain: one row per loaded file of
-- such a county, entity and date.
-- Like with like: a county's first delivery of an entity is its initial registration and is
-- left out of the history. Files of held deliveries do not count.
WITH per_day AS (
    SELECT source, entity, delivery_date, sum(rows) AS rows
    FROM audit.files
    WHERE outcome = 'loaded' AND source <> 'national' AND rows IS NOT NULL
    GROUP BY ALL
),
numbered AS (
    SELECT *, row_number() OVER (PARTITION BY source, entity ORDER BY delivery_date) AS n
    FROM per_day
),
judged AS (
    SELECT *,
        median(CASE WHEN n > 1 THEN rows END) OVER w AS usual,
        count(CASE WHEN n > 1 THEN rows END) OVER w AS history
    FROM numbered
    WINDOW w AS (PARTITION BY source, entity ORDER BY delivery_date
                 ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
)
SELECT f.delivery_date, f.file_name, f.entity,
       format('{} rows of {} from county {}; its usual change delivery is {} rows',
              j.rows, j.entity, j.source, j.usual) AS detail
FROM judged j
JOIN audit.files f USING (source, entity, delivery_date)
WHERE j.n > 1 AND j.history >= 5 AND f.outcome = 'loaded'
  AND (j.rows > 3 * j.usual + 10 OR 3 * j.rows + 10 < j.usual);
