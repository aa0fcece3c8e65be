-- The 15 most frequent (outcome, reason) pairs of audit.quarantine.
SELECT outcome, reason, count(*) AS rows
FROM audit.quarantine
GROUP BY ALL
ORDER BY rows DESC
LIMIT 15
