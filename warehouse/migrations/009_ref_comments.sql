-- Reference data lives in the repository under contract/ref/: the comments say so.
COMMENT ON COLUMN ref.counties.confidence IS 'verified / secondary / memory, as in contract/ref/counties.csv.';
COMMENT ON TABLE ref.national_poverty IS 'Grain: one row per year. Published national rural poverty series 2010-2020 with its provenance (contract/ref/national_poverty.csv).';
