-- Primary key of marts.exit_audit.
SELECT household_id, exit_number
FROM marts.exit_audit
GROUP BY ALL
HAVING count(*) > 1
