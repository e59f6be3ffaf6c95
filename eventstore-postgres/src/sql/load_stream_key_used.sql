-- Whether a command's idempotency key $3 was used in the stream
-- (load_stream.sql).
EXISTS (
        SELECT 1 FROM {schema}.events
        WHERE aggregate_kind = $1 AND aggregate_id = $2 AND idempotency_key = $3::text)
