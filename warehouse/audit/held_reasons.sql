-- Why rows and files of one delivery date were held. Grain: one row per reason, the most
-- frequent first.
SELECT reason, count(*) AS held
FROM audit.quarantine
WHERE delivery_date = $delivery_date AND outcome IN ('held', 'conflict')
GROUP BY ALL
ORDER BY 2 DESC;
