-- Keeps the latest snapshot; one of another schema version is always
-- replaced, since the code that reads it can no longer use it. A snapshot
-- at or below the version at which the stream was forgotten is not stored:
-- it was folded from events before the forget erased them.
-- $1 kind, $2 id, $3 version, $4 schema version, $5 state (text)
INSERT INTO {schema}.snapshots AS s (aggregate_kind, aggregate_id, version, schema_version, state)
SELECT $1, $2, $3, $4, $5::jsonb
WHERE NOT EXISTS (
    SELECT 1 FROM {schema}.forgotten AS f
    WHERE f.aggregate_kind = $1 AND f.aggregate_id = $2 AND f.version >= $3)
ON CONFLICT (aggregate_kind, aggregate_id) DO UPDATE
SET version = excluded.version, schema_version = excluded.schema_version,
    state = excluded.state, created_at = now()
WHERE s.version < excluded.version OR s.schema_version <> excluded.schema_version
