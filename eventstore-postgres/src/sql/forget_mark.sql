-- Counts a forget of a stream, and the version it was at, so that no
-- snapshot of a state loaded before it is stored afterwards
-- (save_snapshot.sql). A stream with no events is not recorded.
-- $1 aggregate kind, $2 aggregate id
INSERT INTO {schema}.forgotten AS f (aggregate_kind, aggregate_id, version)
SELECT $1, $2, max(version)
FROM {schema}.events
WHERE aggregate_kind = $1 AND aggregate_id = $2
HAVING max(version) IS NOT NULL
ON CONFLICT (aggregate_kind, aggregate_id) DO UPDATE
SET version = excluded.version, forgets = f.forgets + 1, forgotten_at = now()
