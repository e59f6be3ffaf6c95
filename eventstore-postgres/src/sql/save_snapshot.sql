-- Keeps the latest snapshot: one of the same version is replaced too (a
-- load replaces a snapshot it could not decode with the state it
-- replayed, at the stream's version), and one of another schema version
-- always, since the code that reads it can no longer use it. A snapshot
-- of a state loaded before the stream's last forget (fewer forgets than
-- counted now) is not stored: it may hold what the forget erased. Run after
-- stream_lock.sql in the same transaction, so that a forget running
-- meanwhile has committed before this statement looks.
-- $1 kind, $2 id, $3 version, $4 schema version, $5 state (text), $6 the
-- forgets counted when the state was loaded
INSERT INTO {schema}.snapshots AS s (aggregate_kind, aggregate_id, version, schema_version, state)
SELECT $1, $2, $3, $4, $5::jsonb
WHERE NOT EXISTS (
    SELECT 1 FROM {schema}.forgotten AS f
    WHERE f.aggregate_kind = $1 AND f.aggregate_id = $2 AND f.forgets > $6)
ON CONFLICT (aggregate_kind, aggregate_id) DO UPDATE
SET version = excluded.version, schema_version = excluded.schema_version,
    state = excluded.state, created_at = now()
WHERE s.version <= excluded.version OR s.schema_version <> excluded.schema_version
