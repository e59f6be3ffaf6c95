-- Keeps the latest snapshot: one at the same version or a later one
-- replaces it, of any schema (a load replaces a snapshot it could not use,
-- of another schema or undecodable, with the state it rebuilt, at the
-- stream's version); an earlier one never does, of any schema, since it
-- would put back an older state (and two releases running side by side
-- would overwrite each other's snapshots). A snapshot
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
WHERE s.version <= excluded.version
