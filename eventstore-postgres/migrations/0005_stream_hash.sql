-- The stable hash of each event's aggregate id (FNV-1a, 64 bits, as a
-- bigint: eventstore_core::reactor::stream_hash), written by every append,
-- so that a reactor's partition loop picks its own events out in the read
-- instead of receiving every partition's. Events appended before this
-- migration have none: reads return them to the client, which checks their
-- partition itself.
ALTER TABLE events ADD COLUMN stream_hash bigint;
