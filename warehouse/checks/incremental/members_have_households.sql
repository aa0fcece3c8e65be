-- members_have_households after an incremental load: the members of the affected
-- households (temp table affected); the others and their households are as before.
SELECT m.id_number
FROM (SELECT * FROM core.members WHERE household_id IN (SELECT household_id FROM affected)) m
ANTI JOIN core.households h USING (household_id)
