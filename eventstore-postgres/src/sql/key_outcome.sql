-- What an idempotency key recorded on a stream (no row: unused): whether
-- the command was refused, and the refusal's domain error (null when it
-- was done, or once a forget erased it).
-- $1 kind, $2 id, $3 idempotency key
SELECT rejected, rejection
FROM {schema}.command_keys
WHERE aggregate_kind = $1 AND aggregate_id = $2 AND idempotency_key = $3::text
