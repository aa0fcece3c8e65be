-- The persons whose published age band moves between the previous snapshot's as-of date
-- and this one's (a delta publish replaces their rows of core.members). Grain: one row per
-- person key. Needs the macros of age_band.sql.
SELECT person_key
FROM (
    SELECT person_key,
           age_years(birth_date, $previous_as_of::DATE) AS age_before,
           age_years(birth_date, $as_of::DATE) AS age_now
    FROM wh.core.members
    WHERE $previous_as_of::DATE IS DISTINCT FROM $as_of::DATE
)
WHERE band_of_age(age_before) IS DISTINCT FROM band_of_age(age_now);
