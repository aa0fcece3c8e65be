-- Ages as the snapshot publishes them (contract/publication.py, core.members.age_band):
-- age_years, whole years of age on an as-of date (the years between the dates, less one
-- before the birthday), and band_of_age, its band: 0-5, 6-15 (compulsory schooling),
-- 16-59, 60+. Compute the age once and band it: a macro is expanded where it is called.
CREATE OR REPLACE TEMP MACRO age_years(birth_date, as_of) AS
    date_diff('year', birth_date, as_of)
    - CASE WHEN strftime(birth_date, '%m%d') > strftime(as_of, '%m%d') THEN 1 ELSE 0 END;
CREATE OR REPLACE TEMP MACRO band_of_age(age) AS
    CASE WHEN age < 6 THEN '0-5' WHEN age < 16 THEN '6-15' WHEN age < 60 THEN '16-59'
         ELSE '60+' END;
