-- The households whose contribution to state.mart_deprivation_cells or
-- state.mart_cause_cells may differ between the latest as_of dates $old and $new, apart
-- from the households the load recomputes (the temp table affected): those with a version
-- whose effective date lies between the two (the record in force may change), and those
-- with an active member out of school who is aged 6-15 at one date and not at the other (a
-- 6th or 16th birthday between them). Their rows are the same before and after the load.
-- Grain: one row per household.
--
-- Ages are computed as state/mart_deprivation_cells.sql computes them, over the members
-- born within a few days of a 6th or 16th birthday between the two dates only (a date
-- range the scan filters on: the registry's members are many).
WITH candidates AS (
    SELECT household_id
    FROM core.households_history
    WHERE effective_date > least($old::DATE, $new::DATE)
      AND effective_date <= greatest($old::DATE, $new::DATE)
    UNION ALL
    SELECT household_id
    FROM core.members
    WHERE (birth_date
               BETWEEN (least($old::DATE, $new::DATE) - INTERVAL 6 YEAR - INTERVAL 3 DAY)::DATE
                   AND (greatest($old::DATE, $new::DATE) - INTERVAL 6 YEAR + INTERVAL 3 DAY)::DATE
           OR birth_date
               BETWEEN (least($old::DATE, $new::DATE) - INTERVAL 16 YEAR - INTERVAL 3 DAY)::DATE
                   AND (greatest($old::DATE, $new::DATE) - INTERVAL 16 YEAR + INTERVAL 3 DAY)::DATE)
      AND member_status = 'active' AND NOT coalesce(in_school, true)
      AND (date_diff('year', birth_date, $old::DATE)
           - (strftime(birth_date, '%m%d') > strftime($old::DATE, '%m%d'))::INT
           BETWEEN 6 AND 15)
          IS DISTINCT FROM
          (date_diff('year', birth_date, $new::DATE)
           - (strftime(birth_date, '%m%d') > strftime($new::DATE, '%m%d'))::INT
           BETWEEN 6 AND 15)
)
SELECT DISTINCT c.household_id
FROM candidates c
ANTI JOIN affected a ON a.household_id = c.household_id
