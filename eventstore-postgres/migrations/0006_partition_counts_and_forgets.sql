-- How many partitions each reactor's checkpoints are for, so that a runner
-- started with another count is refused while runners of the old count are
-- live, and re-partitions the checkpoints safely when none is.
CREATE TABLE reactors (
    reactor    text    NOT NULL PRIMARY KEY,
    partitions integer NOT NULL
);

-- The partition count each live runner runs with.
ALTER TABLE runners ADD COLUMN partitions integer;

-- How many times each stream was forgotten: a snapshot of a state loaded
-- before the last forget is not stored (save_snapshot.sql).
ALTER TABLE forgotten ADD COLUMN forgets bigint NOT NULL DEFAULT 1;
