-- Forgets the validation results of one delivery date before its run records them again.
-- Grain of audit.validation_results: one row per (delivery date, suite, expectation).
DELETE FROM audit.validation_results WHERE delivery_date = $delivery_date;
