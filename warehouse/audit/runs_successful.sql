-- Every run whose load committed: one row per successful run.
SELECT run_id, delivery_date, started_at FROM audit.runs WHERE state = 'success';
