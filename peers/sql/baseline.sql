-- The baseline's table, shaped like an events table: a position, an event
-- id, the stream and version (unique together), the kind, a jsonb body and
-- metadata, and the time.
CREATE TABLE events
(
    position       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id             text        NOT NULL,
    aggregate_kind text        NOT NULL,
    aggregate_id   text        NOT NULL,
    version        bigint      NOT NULL,
    kind           text        NOT NULL,
    body           jsonb       NOT NULL,
    metadata       jsonb       NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (aggregate_kind, aggregate_id, version)
);
