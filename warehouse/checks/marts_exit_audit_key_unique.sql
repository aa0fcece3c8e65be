-- Primary key of marts.exit_audit: unique and never NULL.
SELECT household_id, exit_number
FROM marts.exit_audit
GROUP BY ALL
HAVING count(*) > 1 OR household_id IS NULL OR exit_number IS NULL
