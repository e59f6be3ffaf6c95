-- An append's claim of its idempotency key $8: the key's row in
-- command_keys, inserted only when the append's other checks pass
-- (`{checks}`: append_guard_version.sql, append_guard_moved.sql) and the
-- key has no row yet. The events are inserted only when the claim
-- returned a row; a concurrent claim or refusal of the key
-- (record_refusal.sql) makes this one wait for it, and insert nothing when
-- it commits. A version conflict of the events' insert fails the whole
-- statement, the claim with it.
WITH claim AS (
    INSERT INTO {schema}.command_keys (aggregate_kind, aggregate_id, idempotency_key)
    SELECT $1, $2, $8::text
    {checks}
    ON CONFLICT DO NOTHING
    RETURNING 1
)
