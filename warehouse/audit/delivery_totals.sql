-- What one delivery date's files and rows came to, after the row audit. Grain: one row:
-- files, files held, rows received, applied and held (late files left out).
SELECT count(*) AS files,
       count(*) FILTER (WHERE f.outcome = 'held') AS files_held,
       coalesce(sum(r.received), 0) AS rows_received,
       coalesce(sum(r.applied), 0) AS rows_applied,
       coalesce(sum(r.held), 0) AS rows_held
FROM audit.files f
LEFT JOIN audit.reconciliation r USING (delivery_date, file_name)
WHERE f.delivery_date = $delivery_date AND f.outcome <> 'late';
