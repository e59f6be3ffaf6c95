-- The pending deadlines of sagas: for each saga, those its state listed at
-- the latest version synced (eventstore_core::saga::DeadlineStore), an index
-- of the saga streams that can be rebuilt from them. Ids and names sort
-- bytewise (COLLATE "C"), as the memory store sorts them, so that equal due
-- times fire in the same order on every store and every database locale.
CREATE TABLE deadlines (
    saga_kind   text        NOT NULL,
    saga_id     text        COLLATE "C" NOT NULL,
    name        text        COLLATE "C" NOT NULL,
    -- whole microseconds, as eventstore_core::saga::Deadline keeps them
    due         timestamptz NOT NULL,
    payload     jsonb       NOT NULL,
    -- the version of the saga's stream whose state listed the deadline
    version     bigint      NOT NULL,
    -- the stable hash of saga_id as the events table keeps it
    -- (0005_stream_hash.sql), for a partition's reads
    stream_hash bigint      NOT NULL,
    PRIMARY KEY (saga_kind, saga_id, name)
);

-- Firing order: the due deadlines of a kind, earliest first, equal due
-- times by saga id and name. The stream hash rides along so that the next
-- due time of one partition (next_deadline.sql) is read from the index
-- alone.
CREATE INDEX deadlines_firing_order
    ON deadlines (saga_kind, due, saga_id, name) INCLUDE (stream_hash);

-- Each saga whose deadlines were ever synced: the version they were synced
-- from, and how many syncs there were. A sync claims this row before it
-- replaces the saga's deadline rows (sync_deadlines.sql), so that syncs of
-- one saga take turns even when the saga has no deadline row to lock, and a
-- sync that lost the row to another learns that its view of the rows is
-- stale. The row stays when the deadlines go, so that an older version's
-- sync that comes late changes nothing.
CREATE TABLE deadline_sagas (
    saga_kind text   NOT NULL,
    saga_id   text   NOT NULL,
    version   bigint NOT NULL,
    syncs     bigint NOT NULL,
    PRIMARY KEY (saga_kind, saga_id)
);
