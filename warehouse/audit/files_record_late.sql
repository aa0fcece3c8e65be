-- Records a file that appeared or changed in an earlier date's folder after that date was
-- processed; a file that date already recorded keeps its record. Grain of audit.files: one
-- row per (delivery date, file name).
INSERT INTO audit.files (delivery_date, file_name, size_bytes, outcome, reason, detail, run_id)
VALUES ($delivery_date, $file_name, $size_bytes, 'late', 'late_file', $detail, $run_id)
ON CONFLICT DO NOTHING;
