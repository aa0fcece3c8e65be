-- The seed article's national e-commerce targets.
SELECT metric, year, target, source
FROM ref.targets
WHERE province_code = '00'
  AND metric IN ('ecommerce_pilot_villages', 'ecommerce_villages_cumulative')
