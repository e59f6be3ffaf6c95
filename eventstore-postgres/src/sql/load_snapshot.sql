-- $1 kind, $2 id
SELECT version, schema_version, state
FROM {schema}.snapshots
WHERE aggregate_kind = $1 AND aggregate_id = $2
