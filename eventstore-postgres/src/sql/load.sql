-- The events of one stream after a version. $1 kind, $2 id, $3 after version
SELECT id, position, tx, aggregate_kind, aggregate_id, version, kind, schema_version,
       body, metadata, created_at
FROM {schema}.events
WHERE aggregate_kind = $1 AND aggregate_id = $2 AND version > $3
ORDER BY version
