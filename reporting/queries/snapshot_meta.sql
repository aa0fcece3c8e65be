-- What the snapshot is: as-of date, deliveries included, code version, run, publish time.
SELECT * FROM meta.snapshot
