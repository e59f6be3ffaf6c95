-- The earliest due time among the pending deadlines of a saga kind, of the
-- sagas in one partition: the first entry of deadlines_firing_order that
-- passes the partition test, read from the index alone (it includes the
-- stream hash). A partition that holds none of the kind's deadlines scans
-- the kind's entries to the end.
-- The range on due, which every due time passes, is for a table never
-- analyzed: without it a custom plan estimated that most of the kind's rows
-- are read before one passes the partition test, and bitmap-scanned and
-- sorted them all (due_deadlines.sql says more).
-- $1 saga kind, $2 the partition count (0: every partition), $3 the
-- partition's index, $4 2^64 mod the count (as in due_deadlines.sql).
SELECT due
FROM {schema}.deadlines
WHERE saga_kind = $1
  AND due >= timestamptz 'epoch' AND due <= timestamptz 'infinity'
  AND ($2::bigint = 0
       OR (stream_hash % $2::bigint + CASE WHEN stream_hash < 0 THEN $4::bigint ELSE 0 END
           + $2::bigint) % $2::bigint = $3::bigint)
ORDER BY due
LIMIT 1
