-- An append's check that its idempotency key $8 is unused in the stream.
NOT EXISTS (
        SELECT 1 FROM {schema}.events
        WHERE aggregate_kind = $1 AND aggregate_id = $2 AND idempotency_key = $8::text)
