-- One command's events, in one autocommit statement: the idempotency check,
-- the version check and the insert. No row comes back when the key was used
-- or the stream is not at the expected version; a concurrent writer at the
-- same version fails on events_stream_version.
-- $1 kind, $2 id, $3 expected version, $4 ids, $5 kinds, $6 bodies (text),
-- $7 metadata (text), $8 idempotency key (nullable)
INSERT INTO {schema}.events (id, aggregate_kind, aggregate_id, version, kind, body, metadata, idempotency_key)
SELECT e.id, $1, $2, $3 + e.n, e.kind, e.body::jsonb, $7::jsonb, CASE WHEN e.n = 1 THEN $8::text END
FROM unnest($4::text[], $5::text[], $6::text[]) WITH ORDINALITY AS e (id, kind, body, n)
WHERE (SELECT coalesce(max(version), 0) FROM {schema}.events WHERE aggregate_kind = $1 AND aggregate_id = $2) = $3
  AND ($8::text IS NULL OR NOT EXISTS (
        SELECT 1 FROM {schema}.events
        WHERE aggregate_kind = $1 AND aggregate_id = $2 AND idempotency_key = $8::text))
RETURNING position, tx::text::bigint AS tx, version, (extract(epoch FROM created_at) * 1000000)::bigint AS created_us
