-- Forgets the files of one delivery date before its run records them again. Grain of
-- audit.files: one row per (delivery date, file name).
DELETE FROM audit.files WHERE delivery_date = $delivery_date;
