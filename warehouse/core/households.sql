-- The current state of each household: the current version in core.households_history,
-- written before it by the same load, with the head's key computed there (the transform
-- gives one current version per household; core_keys_unique proves it).
SELECT * FROM core.households_history WHERE is_current
