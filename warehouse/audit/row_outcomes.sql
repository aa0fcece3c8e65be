-- Every delivered row's outcome over every delivery (state.row_outcomes), under the names
-- the row audit's statements use. Grain: one row per delivered row (entity, delivery date,
-- file, row number).
CREATE OR REPLACE TEMP VIEW row_outcomes AS
SELECT entity, delivery_date AS _delivery_date, file_name AS _file_name,
       row_number AS _row_number, record_key, outcome, reason, detail, effective_date
FROM state.row_outcomes
