-- Nothing lost: per file, received = applied + stale + duplicate + parked + held.
SELECT delivery_date, file_name
FROM audit.reconciliation
WHERE received <> applied + stale + duplicate + parked + held
