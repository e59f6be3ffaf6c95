-- The events of one stream after a version. $1 kind, $2 id, $3 after version
SELECT id, position, tx::text::bigint AS tx, version, kind, body, metadata,
       (extract(epoch FROM created_at) * 1000000)::bigint AS created_us
FROM {schema}.events
WHERE aggregate_kind = $1 AND aggregate_id = $2 AND version > $3
ORDER BY version
