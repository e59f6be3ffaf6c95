-- append.sql for the common case of a single event, without unnest (which
-- costs about 15% of the statement's server time), with the same checks
-- in place of the guards line (append_guard_*.sql).
-- $1 kind, $2 id, $3 expected version, $4 id, $5 kind, $6 body (text),
-- $7 metadata (text), $8 idempotency key (nullable), $9 $10 $11 the stream
-- that must not have moved past a version (kind, id, version; null: none),
-- $12 the stream's hash (eventstore_core::reactor::stream_hash, as a bigint),
-- $13 the event's schema version
{claim}INSERT INTO {schema}.events (id, aggregate_kind, aggregate_id, version, kind, schema_version, body, metadata, idempotency_key, stream_hash)
SELECT $4, $1, $2, $3 + 1, $5, $13::integer, $6::jsonb, $7::jsonb, $8::text, $12::bigint
{guards}
RETURNING position, tx, version, created_at
