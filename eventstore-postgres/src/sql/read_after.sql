-- Committed events after a checkpoint, in commit order, never overtaking a
-- transaction that is still running: only transactions older than every
-- running one are read, so a late commit cannot land behind the reader.
-- $1 checkpoint tx, $2 checkpoint position, $3 aggregate kinds (empty: all),
-- $4 event kinds (empty: all), $5 limit, $6 $7 last checkpoint to read
-- (tx, position; null: no limit).
-- ORDER BY names the table's columns (e.tx), which the (tx, position) index
-- serves: were an output column named tx a cast, a bare "tx" would sort the
-- whole table on every read.
SELECT id, position, tx, aggregate_kind, aggregate_id, version, kind, body, metadata,
       created_at
FROM {schema}.events AS e
WHERE (tx, position) > ($1::bigint::text::xid8, $2)
  AND tx < pg_snapshot_xmin(pg_current_snapshot())
  AND ($6::bigint IS NULL OR (tx, position) <= ($6::bigint::text::xid8, $7::bigint))
  AND (cardinality($3::text[]) = 0 OR aggregate_kind = ANY ($3::text[]))
  AND (cardinality($4::text[]) = 0 OR kind = ANY ($4::text[]))
ORDER BY e.tx, e.position
LIMIT $5
