-- A current member whose household has no record in core.households. A member waits,
-- parked, until its household is applied (two-level parking), so there is none.
SELECT m.id_number
FROM core.members m
ANTI JOIN core.households h USING (household_id)
