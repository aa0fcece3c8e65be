-- Records an attempt that did not load (a failed task), in its own small transaction. Grain
-- of audit.runs: one row per run attempt that loaded or failed.
INSERT INTO audit.runs (run_id, delivery_date, started_at, loaded_at, state, message, summary)
VALUES ($run_id, $delivery_date, coalesce($started_at::TIMESTAMPTZ, current_timestamp),
        current_timestamp, $state, $message, $summary);
