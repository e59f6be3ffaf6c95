-- One command's events, in one autocommit statement: the claim of the
-- idempotency key (append_claim_key.sql, in place of the claim line), the
-- version check and the insert. A stale writer (the stream is past the
-- expected version, or a concurrent writer gets there first) fails on the
-- unique events_stream_version, since version $3 + 1 is taken; the only
-- case that constraint cannot see, an expected version ahead of the stream
-- (which would leave a gap), is the probe of append_guard_version.sql. No
-- row comes back then, nor when the idempotency key has a row in
-- command_keys (it was used, or a refusal was recorded under it).
--
-- The guards line becomes the checks this append needs, and only those
-- (sql::AppendStatements): a check that cannot fail (no expected
-- version, no key, no guarded stream) is left out rather than skipped at
-- run time, since PostgreSQL sets up every subquery's index scan on each
-- execution, run or not.
-- $1 kind, $2 id, $3 expected version, $4 ids, $5 kinds, $6 bodies (text),
-- $7 metadata (text), $8 idempotency key (nullable), $9 $10 $11 the stream
-- that must not have moved past a version (kind, id, version; null: none),
-- $12 the stream's hash (eventstore_core::reactor::stream_hash, as a bigint),
-- $13 the events' schema versions
{claim}INSERT INTO {schema}.events (id, aggregate_kind, aggregate_id, version, kind, schema_version, body, metadata, idempotency_key, stream_hash)
SELECT e.id, $1, $2, $3 + e.n, e.kind, e.schema_version, e.body::jsonb, $7::jsonb, CASE WHEN e.n = 1 THEN $8::text END, $12::bigint
FROM unnest($4::text[], $5::text[], $6::text[], $13::integer[]) WITH ORDINALITY AS e (id, kind, body, schema_version, n)
{guards}
RETURNING position, tx, version, created_at
