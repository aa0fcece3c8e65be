-- Files of every processed delivery date, for telling late files: one row per delivered
-- file (late files themselves left out).
SELECT delivery_date, file_name, size_bytes FROM audit.files WHERE outcome <> 'late';
