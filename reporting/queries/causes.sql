-- Main causes of poverty per area, the most frequent first.
SELECT province_code, cause, households, people, share_of_households, poor_households,
       poor_people, other_cause_households
FROM marts.causes
ORDER BY province_code, households DESC, cause
