-- A stream's snapshot, with how many times the stream was forgotten.
-- $1 kind, $2 id
SELECT s.version, s.schema_version, s.state,
       coalesce((SELECT f.forgets FROM {schema}.forgotten AS f
                 WHERE f.aggregate_kind = $1 AND f.aggregate_id = $2), 0) AS forgets
FROM {schema}.snapshots AS s
WHERE s.aggregate_kind = $1 AND s.aggregate_id = $2
