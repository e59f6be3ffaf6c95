-- Records a command's refusal under its idempotency key, with its domain
-- error: only while the stream has no event after the version the decision
-- saw, the stream $6 $7 (null: none) has none after version $8 (the
-- command's unless_moved, as append_guard_moved.sql checks it for an
-- append), and the key has no row yet. The primary key of command_keys
-- decides against a concurrent append with the key (append_claim_key.sql)
-- or refusal of it, which this statement waits for. No row comes back when
-- the key had a row or a stream moved; key_outcome.sql, then
-- stream_version.sql, tell which.
-- $1 kind, $2 id, $3 idempotency key, $4 the version decided on, $5 the
-- domain error (JSON text), $6 $7 $8 the guarded stream (kind, id, version)
INSERT INTO {schema}.command_keys (aggregate_kind, aggregate_id, idempotency_key, rejected, rejection)
SELECT $1, $2, $3::text, true, $5::jsonb
WHERE NOT EXISTS (
    SELECT 1 FROM {schema}.events
    WHERE aggregate_kind = $1 AND aggregate_id = $2 AND version > $4::bigint)
  AND ($6::text IS NULL OR NOT EXISTS (
    SELECT 1 FROM {schema}.events
    WHERE aggregate_kind = $6::text AND aggregate_id = $7::text AND version > $8::bigint))
ON CONFLICT DO NOTHING
RETURNING rejected
