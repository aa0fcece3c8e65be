-- The current state of each village: the current version in core.villages_history,
-- written before it by the same load (the transform gives one current version per village;
-- core_keys_unique proves it).
SELECT * FROM core.villages_history WHERE is_current
