-- Records a run that loaded its delivery date. Grain of audit.runs: one row per run attempt
-- that loaded or failed.
INSERT INTO audit.runs (run_id, delivery_date, started_at, loaded_at, code_version, files,
                        files_held, rows_received, rows_applied, rows_held, summary, state,
                        message, load_path, load_path_reason, affected_households, code_hash)
VALUES ($run_id, $delivery_date, $started_at, current_timestamp, $code_version, $files,
        $files_held, $rows_received, $rows_applied, $rows_held, $summary, 'success', $message,
        $load_path, $load_path_reason, $affected_households, $code_hash);
