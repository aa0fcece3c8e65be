-- Validation rules that failed on at least one row, over all delivery dates.
SELECT entity, expectation, severity,
       sum(evaluated)::BIGINT AS evaluated,
       sum(failed)::BIGINT AS failed,
       count(DISTINCT delivery_date) FILTER (WHERE failed > 0) AS dates
FROM audit.validation_results
GROUP BY ALL
HAVING sum(failed) > 0
ORDER BY failed DESC, entity, expectation
