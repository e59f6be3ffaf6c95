-- Streams that a GDPR forget erased, and the version each was at: a
-- snapshot of a state folded before the forget (a background save that
-- lands after it) is never stored, since it may hold the erased data.
CREATE TABLE forgotten (
    aggregate_kind text        NOT NULL,
    aggregate_id   text        NOT NULL,
    version        bigint      NOT NULL,
    forgotten_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (aggregate_kind, aggregate_id)
);
