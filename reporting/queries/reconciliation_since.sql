-- Rows received per delivery date from $since, by outcome.
SELECT delivery_date,
       sum(received)::BIGINT AS received,
       sum(applied)::BIGINT AS applied,
       sum(stale)::BIGINT AS stale,
       sum(duplicate)::BIGINT AS duplicate,
       sum(parked)::BIGINT AS parked,
       sum(held)::BIGINT AS held,
       sum(warned)::BIGINT AS warned
FROM audit.reconciliation
WHERE delivery_date >= $since
GROUP BY ALL
ORDER BY delivery_date
