-- Keeps the latest snapshot; one of another schema version is always
-- replaced, since the code that reads it can no longer use it.
-- $1 kind, $2 id, $3 version, $4 schema version, $5 state (text)
INSERT INTO {schema}.snapshots AS s (aggregate_kind, aggregate_id, version, schema_version, state)
VALUES ($1, $2, $3, $4, $5::jsonb)
ON CONFLICT (aggregate_kind, aggregate_id) DO UPDATE
SET version = excluded.version, schema_version = excluded.schema_version,
    state = excluded.state, created_at = now()
WHERE s.version < excluded.version OR s.schema_version <> excluded.schema_version
