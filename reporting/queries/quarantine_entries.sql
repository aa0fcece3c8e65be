-- How many entries audit.quarantine holds.
SELECT count(*) AS n FROM audit.quarantine
