-- Replaces the ref schema from the reference CSV files kept in the repository (the folder
-- contract/ref, bound as ref_dir), typed here; ref.code_labels comes from the contract
-- (loader.load_reference). Each table's grain is stated in migration 002.
DELETE FROM ref.poverty_lines;
INSERT INTO ref.poverty_lines
SELECT year::INT, line_yuan_per_person::INT, basis, confidence, note
FROM read_csv($ref_dir || '/poverty_lines.csv', header = true, all_varchar = true);

DELETE FROM ref.provinces;
INSERT INTO ref.provinces
SELECT province_code, name_en, name_zh, region, western_exit_rule::BOOLEAN,
       has_poverty_counties::BOOLEAN, poverty_counties_832::INT, poor_2013_10k::INT,
       poor_2013_confidence
FROM read_csv($ref_dir || '/provinces.csv', header = true, all_varchar = true);

-- The nation, so that area code 00 of the marts has its names here too.
INSERT INTO ref.provinces (province_code, name_en, name_zh, has_poverty_counties,
                           poverty_counties_832)
SELECT '00', 'Nation', '全国', bool_or(has_poverty_counties), sum(poverty_counties_832)::INT
FROM ref.provinces;

DELETE FROM ref.national_poverty;
INSERT INTO ref.national_poverty
SELECT year::INT, rural_poor_10k::INT, reduction_10k::INT, incidence_pct::DOUBLE / 100,
       source_confidence, source
FROM read_csv($ref_dir || '/national_poverty.csv', header = true, all_varchar = true);

DELETE FROM ref.registry_2014;
INSERT INTO ref.registry_2014
SELECT metric, value::DOUBLE, confidence, source
FROM read_csv($ref_dir || '/registry_2014.csv', header = true, all_varchar = true);

DELETE FROM ref.targets;
INSERT INTO ref.targets
SELECT year::INT, CASE WHEN scope = 'national' THEN '00' ELSE scope END, metric,
       target::BIGINT, source
FROM read_csv($ref_dir || '/targets.csv', header = true, all_varchar = true);

DELETE FROM ref.counties;
INSERT INTO ref.counties
SELECT county_code, name_en, name_zh, wrongful_exit_rate::DOUBLE,
       missed_identification_rate::DOUBLE, public_approval::DOUBLE, evaluation_year::INT,
       source, confidence
FROM read_csv($ref_dir || '/counties.csv', header = true, all_varchar = true);

DELETE FROM ref.code_labels;
