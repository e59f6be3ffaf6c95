-- The checkpoint of the last event a tracker can read now: the read mode's
-- condition (sql/mod.rs) replaces the visible placeholder. $1 the lag in microseconds
-- (safety-margin mode only).
SELECT tx::text::bigint AS tx, position
FROM {schema}.events AS e
WHERE {visible}
ORDER BY e.tx DESC, e.position DESC
LIMIT 1
