-- Every file in the ledger has its reconciliation row.
SELECT f.delivery_date, f.file_name
FROM audit.files f
ANTI JOIN audit.reconciliation r USING (delivery_date, file_name)
WHERE f.outcome <> 'late'
