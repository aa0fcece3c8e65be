-- Analysts' conventions (docs/analyst_guide.md, "Conventions"): the labels of every coded
-- value, the nation among the provinces, and every share or rate a fraction (0-1).

-- Grain: one row per (column_name, code). Loaded by load_reference from the landing
-- contract (contract/landing.py: the Chinese labels and LABELS_EN), not from a CSV.
CREATE TABLE ref.code_labels (
    column_name     VARCHAR NOT NULL,
    code            VARCHAR NOT NULL,
    label_zh        VARCHAR,
    label_en        VARCHAR NOT NULL,
    PRIMARY KEY (column_name, code)
);
COMMENT ON TABLE ref.code_labels IS 'Grain: one row per (column_name, code). The Chinese and English label of every coded value of the landing contract, under the name of each column that holds it (main_cause and cause, status and household_status, ...): join on column_name and code.';
COMMENT ON COLUMN ref.code_labels.column_name IS 'Name of a column holding the code (the same codes in every table that has a column of that name).';
COMMENT ON COLUMN ref.code_labels.code IS 'The code as stored (English, lower case).';
COMMENT ON COLUMN ref.code_labels.label_zh IS 'Chinese label of the landing contract; NULL where counties deliver the code itself (program, metric).';
COMMENT ON COLUMN ref.code_labels.label_en IS 'English label.';

-- The nation (00) is a row of ref.provinces (load_reference adds it), so every area code
-- of the marts has its names there.
COMMENT ON TABLE ref.provinces IS 'Grain: one row per province code; 00 = the nation (names; poverty_counties_832 and has_poverty_counties summed over the provinces; the rest NULL). Region, western exit rule, poverty counties and a 2013 calibration weight.';

-- Incidence as a fraction, as every other share or rate (load_reference divides by 100).
ALTER TABLE ref.national_poverty RENAME COLUMN incidence_pct TO incidence;
COMMENT ON COLUMN ref.national_poverty.incidence IS 'Rural poverty incidence, fraction (0.172 = 17.2%).';
COMMENT ON TABLE ref.national_poverty IS 'Grain: one row per year. Published national rural poverty series 2010-2020 with its provenance (contract/ref/national_poverty.csv).';
