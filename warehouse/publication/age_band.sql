-- The age band the snapshot publishes for a birth date on an as-of date: 0-5, 6-15
-- (compulsory schooling), 16-59, 60+ (contract/publication.py, core.members.age_band).
-- Whole years of age: the years between the dates, less one before the birthday.
CREATE OR REPLACE TEMP MACRO age_years(birth_date, as_of) AS
    date_diff('year', birth_date, as_of)
    - CASE WHEN strftime(birth_date, '%m%d') > strftime(as_of, '%m%d') THEN 1 ELSE 0 END;
CREATE OR REPLACE TEMP MACRO age_band(birth_date, as_of) AS
    CASE WHEN age_years(birth_date, as_of) < 6 THEN '0-5'
         WHEN age_years(birth_date, as_of) < 16 THEN '6-15'
         WHEN age_years(birth_date, as_of) < 60 THEN '16-59'
         ELSE '60+' END;
