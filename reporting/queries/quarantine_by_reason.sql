-- Quarantine entries per outcome, reason and entity over all delivery dates.
SELECT outcome, reason, entity,
       sum(records)::BIGINT AS records,
       sum(files)::BIGINT AS files,
       count(DISTINCT delivery_date) AS dates
FROM marts.data_quality_quarantine
GROUP BY ALL
ORDER BY records DESC, outcome, reason, entity
