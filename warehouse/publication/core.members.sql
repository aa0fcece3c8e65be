-- core.members as the snapshot publishes it. Grain: one row per person (current version).
-- The resident ID is published as person_key (the key the load stored beside it), the
-- birth date as birth year and age band on the snapshot's as-of date (the macros of
-- age_band.sql); name, file name and row number are not published (contract/publication.py).
SELECT m.person_key, m.household_id, m.relation, m.sex, year(m.birth_date) AS birth_year,
       band_of_age(m.age) AS age_band,
       m.education, m.in_school, m.health, m.labour, m.medical_insured, m.member_status,
       m.updated_at, m.delivery_date, m.effective_date, h.status AS household_status
FROM (SELECT *, age_years(birth_date, $as_of::DATE) AS age FROM wh.core.members) m
-- The household's status, so that questions about the members of poor households scan
-- members alone: joining 90 M members to 30 M households takes seconds.
LEFT JOIN wh.core.households h ON h.household_id = m.household_id;
