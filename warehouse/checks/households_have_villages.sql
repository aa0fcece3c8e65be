-- A current household whose village has no record in core.villages. A household waits,
-- parked, until its village is applied (two-level parking), so there is none.
SELECT h.household_id
FROM core.households h
ANTI JOIN core.villages v USING (village_code)
