-- audit.quarantine as the snapshot publishes it. Grain: as in the warehouse, one row per
-- delivered row or file held, warned, stale, duplicate or parked. A member's record key is
-- published as the person's key; details, which may quote a delivered value, are not
-- published (contract/publication.py).
-- Reads the temp table quarantine_keys (quarantine_unkeyed_ids.sql, quarantine_kept_keys.sql).
SELECT q.delivery_date, q.file_name, q.entity, q.row_number,
       CASE WHEN q.entity = 'members' THEN p.person_key ELSE q.record_key END AS record_key,
       q.outcome, q.reason, q.applied_on
FROM wh.audit.quarantine q
LEFT JOIN quarantine_keys p ON p.id_number = q.record_key AND q.entity = 'members';
