-- households_have_villages after an incremental load: the affected households (temp table
-- affected). A village whose first date changed puts every household delivered in it into
-- the affected set, so a household outside it kept its village.
SELECT h.household_id
FROM (SELECT * FROM core.households WHERE household_id IN (SELECT household_id FROM affected)) h
ANTI JOIN core.villages v USING (village_code)
