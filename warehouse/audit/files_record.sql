-- Records one file of the run's delivery date: how it was read and what became of it.
-- Grain of audit.files: one row per (delivery date, file name).
INSERT INTO audit.files (delivery_date, file_name, entity, source, format, encoding,
                         delimiter, size_bytes, sha256, rows, outcome, reason, detail, run_id,
                         path)
VALUES ($delivery_date, $file_name, $entity, $source, $format, $encoding, $delimiter,
        $size_bytes, $sha256, $rows, $outcome, $reason, $detail, $run_id, $path);
