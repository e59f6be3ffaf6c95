-- The pending deadlines of a saga kind due at a time, of the sagas in one
-- partition, in firing order: through deadlines_firing_order, which gives
-- the order, so the scan stops after the limit.
-- $1 saga kind, $2 the time (microseconds since 1970), $3 the partition
-- count (0: every partition), $4 the partition's index, $5 2^64 mod the
-- count, $6 how many.
--
-- The lower bound, which every due time passes (Deadline keeps none
-- before 1970), makes the due times a range: a generic plan, or one made
-- on a table never analyzed, then estimates that few rows are due and reads
-- the index in order up to the limit; with "due <=" alone it estimated a
-- third of the table and sorted the kind's deadlines, bitmap-scanned, on
-- every read (100,000 rows: tests/tests/postgres_deadlines.rs).
--
-- The partition test is read_page.sql's: stream_hash holds the bits of an
-- unsigned 64-bit hash as a bigint.
SELECT saga_id, version, name, due, payload
FROM {schema}.deadlines
WHERE saga_kind = $1
  AND due >= timestamptz 'epoch'
  AND due <= timestamptz 'epoch' + ($2::bigint / 1000000) * interval '1 second'
             + ($2::bigint % 1000000) * interval '1 microsecond'
  AND ($3::bigint = 0
       OR (stream_hash % $3::bigint + CASE WHEN stream_hash < 0 THEN $5::bigint ELSE 0 END
           + $3::bigint) % $3::bigint = $4::bigint)
ORDER BY due, saga_id, name
LIMIT $6
