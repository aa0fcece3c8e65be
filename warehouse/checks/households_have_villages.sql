-- severity: warn
-- A current household whose village has no current record (parked rows excepted).
SELECT h.household_id
FROM core.households h
ANTI JOIN core.villages v USING (village_code)
