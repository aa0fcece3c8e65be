-- Warned rows that were applied: a warning on a row held for another reason is told by that
-- reason. Grain: one row per warned, applied delivered row.
-- The warnings are the small side of the join; the outcomes stream past them.
CREATE OR REPLACE TEMP TABLE applied_warnings AS
SELECT w.*
FROM row_warnings w
JOIN (SELECT entity, _delivery_date, _file_name, _row_number FROM row_outcomes
      WHERE outcome = 'applied') o
  USING (entity, _delivery_date, _file_name, _row_number);
