-- The checkpoint of the last event a tracker can read now.
SELECT tx::text::bigint AS tx, position
FROM {schema}.events AS e
WHERE tx < pg_snapshot_xmin(pg_current_snapshot())
ORDER BY e.tx DESC, e.position DESC
LIMIT 1
