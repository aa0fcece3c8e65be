-- The persons whose published age band moves between the previous snapshot's as-of date
-- and this one's (a delta publish replaces their rows of core.members). Grain: one row per
-- person key. Needs the macro of age_band.sql.
SELECT person_key
FROM wh.core.members
WHERE $previous_as_of::DATE IS DISTINCT FROM $as_of::DATE
  AND age_band(birth_date, $previous_as_of::DATE) IS DISTINCT FROM age_band(birth_date, $as_of::DATE);
