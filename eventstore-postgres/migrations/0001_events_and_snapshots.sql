-- The system of record: one row per event.
CREATE TABLE events (
    position        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id              text        NOT NULL,
    aggregate_kind  text        NOT NULL,
    aggregate_id    text        NOT NULL,
    version         bigint      NOT NULL CHECK (version > 0),
    kind            text        NOT NULL,
    body            jsonb       NOT NULL,
    metadata        jsonb       NOT NULL DEFAULT '{}',
    idempotency_key text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    tx              xid8        NOT NULL DEFAULT pg_current_xact_id(),
    CONSTRAINT events_stream_version UNIQUE (aggregate_kind, aggregate_id, version)
);

-- A key is used at most once per stream (it is stored on the first event
-- of the append that used it).
CREATE UNIQUE INDEX events_stream_idempotency_key
    ON events (aggregate_kind, aggregate_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

-- Reading in commit order.
CREATE INDEX events_commit_order ON events (tx, position);

-- The latest snapshot of each stream.
CREATE TABLE snapshots (
    aggregate_kind text        NOT NULL,
    aggregate_id   text        NOT NULL,
    version        bigint      NOT NULL,
    schema_version integer     NOT NULL,
    state          jsonb       NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (aggregate_kind, aggregate_id)
);
