-- In marts.programme_coverage the nation row (00) is the sum of the province rows, and the
-- village counts agree with marts.poverty_stock.
WITH provinces AS (
    SELECT as_of_date, sum(villages) AS villages, sum(poor_villages) AS poor_villages,
           sum(villages_with_station) AS stations, sum(pilot_villages) AS pilots,
           sum(reached_villages) AS reached, sum(households_selling_online) AS selling,
           sum(ecommerce_trainings) AS trainings
    FROM marts.programme_coverage
    WHERE province_code <> '00'
    GROUP BY ALL
)
SELECT n.as_of_date
FROM marts.programme_coverage n
JOIN provinces p USING (as_of_date)
LEFT JOIN marts.poverty_stock s
  ON s.as_of_date = n.as_of_date AND s.admin_level = 'nation'
WHERE n.province_code = '00'
  AND ((n.villages, n.poor_villages, n.villages_with_station, n.pilot_villages,
        n.reached_villages, n.households_selling_online, n.ecommerce_trainings)
       IS DISTINCT FROM (p.villages, p.poor_villages, p.stations, p.pilots, p.reached,
                         p.selling, p.trainings)
       OR n.villages IS DISTINCT FROM coalesce(s.villages, 0))
