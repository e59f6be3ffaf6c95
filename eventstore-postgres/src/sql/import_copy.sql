-- An import's rows, in COPY's binary format; position and tx take their
-- defaults, so that imported events are read in commit order like
-- appended ones. The idempotency key stays null.
COPY {schema}.events (id, aggregate_kind, aggregate_id, version, kind, schema_version, body, metadata, created_at, stream_hash)
FROM STDIN (FORMAT binary)
