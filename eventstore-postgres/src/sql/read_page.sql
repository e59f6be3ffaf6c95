-- One page of committed events after a checkpoint, in commit order, as far
-- as the read mode lets a tracker read: the mode's condition (sql/mod.rs)
-- replaces the visible placeholder; read_after.sql and
-- read_partition.sql read it in place of their page placeholder.
-- $1 checkpoint tx, $2 checkpoint position, $3 aggregate kinds (empty: all),
-- $4 event kinds (empty: all), $5 how many rows to scan, $6 $7 last
-- checkpoint to read (tx, position; null: no limit), $8 the partition count
-- (0: every partition), $9 the partition's index, $10 2^64 mod the count,
-- $11 the lag in microseconds (safety-margin mode only).
--
-- The page is scanned in commit order without the filter, so that each
-- read costs at most $5 index entries whatever the statistics say: with the
-- filter in the WHERE clause, a table not yet analyzed made the planner
-- bitmap-scan every row after the checkpoint and sort them (1.7 ms a read,
-- growing with the table, measured by pg_stat_statements in
-- `scripts/bench-transfers`). Each row says whether it passed the filter.
--
-- The partition test: stream_hash holds the bits of an unsigned 64-bit hash
-- as a bigint, and the partition is that unsigned hash mod the count; a
-- negative bigint h stands for h + 2^64, whence the $10 added to its
-- remainder (kept in range by the final mod). Rows without a hash (appended
-- before the column was added) pass here; the reader checks them itself.
--
-- ORDER BY names the table's columns (e.tx), which the (tx, position) index
-- serves: were an output column named tx a cast, a bare "tx" would sort the
-- whole table on every read.
SELECT id, position, tx, aggregate_kind, aggregate_id, version, kind, schema_version,
       body, metadata, created_at,
       (cardinality($3::text[]) = 0 OR aggregate_kind = ANY ($3::text[]))
       AND (cardinality($4::text[]) = 0 OR kind = ANY ($4::text[]))
       AND ($8::bigint = 0 OR stream_hash IS NULL
            OR (stream_hash % $8::bigint + CASE WHEN stream_hash < 0 THEN $10::bigint ELSE 0 END
                + $8::bigint) % $8::bigint = $9::bigint) AS wanted
FROM {schema}.events AS e
WHERE (tx, position) > ($1::bigint::text::xid8, $2)
  AND {visible}
  AND ($6::bigint IS NULL OR (tx, position) <= ($6::bigint::text::xid8, $7::bigint))
ORDER BY e.tx, e.position
LIMIT $5
