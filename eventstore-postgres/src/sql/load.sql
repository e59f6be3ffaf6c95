-- The events of one stream after a version, in version order: a page of at
-- most $4 of them. The index on (aggregate_kind, aggregate_id, version)
-- returns them in that order, so the limit stops the scan there.
-- $1 kind, $2 id, $3 after version, $4 most rows
SELECT id, position, tx, aggregate_kind, aggregate_id, version, kind, body, metadata,
       created_at
FROM {schema}.events
WHERE aggregate_kind = $1 AND aggregate_id = $2 AND version > $3
ORDER BY version
LIMIT $4
