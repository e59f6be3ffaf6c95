-- What a command's idempotency key $3 recorded in the stream
-- (load_stream.sql): a row when it was used.
SELECT rejected, rejection FROM {schema}.command_keys
    WHERE aggregate_kind = $1 AND aggregate_id = $2 AND idempotency_key = $3::text
