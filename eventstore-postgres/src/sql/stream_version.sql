-- The version a stream is at (0 when it has no events).
-- $1 kind, $2 id
SELECT coalesce(max(version), 0) AS version
FROM {schema}.events
WHERE aggregate_kind = $1 AND aggregate_id = $2
