-- Village exit readiness counted per province, with its threshold and exit rule.
SELECT province_code,
       max(threshold)::DOUBLE AS threshold,
       bool_or(western_exit_rule) AS western,
       count(*) AS villages,
       count(*) FILTER (WHERE ready) AS ready,
       count(*) FILTER (WHERE NOT ready) AS not_ready,
       count(*) FILTER (WHERE ready IS NULL) AS unknown,
       count(*) FILTER (WHERE is_poor_village) AS poor_villages,
       count(*) FILTER (WHERE is_poor_village AND ready) AS poor_villages_ready,
       sum(poor_people) AS poor_people,
       sum(rural_population) AS rural_population
FROM marts.village_exit_readiness
GROUP BY ALL
ORDER BY province_code
