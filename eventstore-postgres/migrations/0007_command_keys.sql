-- What each idempotency key used on a stream recorded: the first decision
-- of the commands that carried it, done or refused. A keyed append claims
-- its key's row in the same statement as its events (append_claim_key.sql);
-- a refused command inserts the row with its domain error
-- (record_refusal.sql). The primary key decides between them: of an append
-- and a refusal of one key that race, one inserts the row and the other
-- waits for it to commit and writes nothing. A check that read whether the
-- key was used could not do that: under READ COMMITTED it does not see a
-- concurrent writer's row until that one commits, so both would go ahead.
CREATE TABLE command_keys (
    aggregate_kind  text        NOT NULL,
    aggregate_id    text        NOT NULL,
    idempotency_key text        NOT NULL,
    -- whether the key's decision refused the command
    rejected        boolean     NOT NULL DEFAULT false,
    -- the refusal's domain error; null when the command was done, or once
    -- a forget erased it (forget_refusals.sql)
    rejection       jsonb,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (aggregate_kind, aggregate_id, idempotency_key),
    CHECK (rejected OR rejection IS NULL)
);

-- Every key appended so far was a command that was done.
INSERT INTO command_keys (aggregate_kind, aggregate_id, idempotency_key, recorded_at)
SELECT aggregate_kind, aggregate_id, idempotency_key, created_at
FROM events
WHERE idempotency_key IS NOT NULL;

-- command_keys keeps each key unique per stream now, and every read of a
-- key goes there: the events' index of keys would only cost each keyed
-- append a second index write. events.idempotency_key stays filled (on
-- the first event of the append), for whoever reads the history.
DROP INDEX events_stream_idempotency_key;
