-- The most recently loaded run.
SELECT run_id, delivery_date, loaded_at, files, files_held, rows_received, rows_applied,
       rows_held, state, message, load_path, load_path_reason
FROM audit.runs
ORDER BY loaded_at DESC
LIMIT 1
