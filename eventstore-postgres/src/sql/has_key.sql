-- $1 kind, $2 id, $3 idempotency key
SELECT EXISTS (
    SELECT 1 FROM {schema}.events
    WHERE aggregate_kind = $1 AND aggregate_id = $2 AND idempotency_key = $3
)
