-- Committed events after a checkpoint, in commit order, as far as the read
-- mode lets a tracker read: the mode's condition (sql/mod.rs) replaces the
-- visible placeholder in the WHERE clause.
-- $1 checkpoint tx, $2 checkpoint position, $3 aggregate kinds (empty: all),
-- $4 event kinds (empty: all), $5 how many rows to scan, $6 $7 last
-- checkpoint to read (tx, position; null: no limit), $8 the lag in
-- microseconds (safety-margin mode only).
--
-- The page is scanned in commit order without the filter, so that each
-- read costs at most $5 index entries whatever the statistics say: with the
-- filter in the WHERE clause, a table not yet analyzed made the planner
-- bitmap-scan every row after the checkpoint and sort them (1.7 ms a read,
-- growing with the table, measured by pg_stat_statements in
-- `scripts/bench-transfers`). Each row of the page comes back with whether
-- it passed the filter (first column), then the columns of every event
-- query (rows.rs), without body and metadata when it did not: the last row
-- tells the reader where the scan ended, so that it can go on past a page
-- in which nothing passed.
-- ORDER BY names the table's columns (e.tx), which the (tx, position) index
-- serves: were an output column named tx a cast, a bare "tx" would sort the
-- whole table on every read.
SELECT p.wanted, p.id, p.position, p.tx, p.aggregate_kind, p.aggregate_id, p.version,
       p.kind, CASE WHEN p.wanted THEN p.body END, CASE WHEN p.wanted THEN p.metadata END,
       p.created_at
FROM (
    SELECT id, position, tx, aggregate_kind, aggregate_id, version, kind, body, metadata,
           created_at,
           (cardinality($3::text[]) = 0 OR aggregate_kind = ANY ($3::text[]))
           AND (cardinality($4::text[]) = 0 OR kind = ANY ($4::text[])) AS wanted
    FROM {schema}.events AS e
    WHERE (tx, position) > ($1::bigint::text::xid8, $2)
      AND {visible}
      AND ($6::bigint IS NULL OR (tx, position) <= ($6::bigint::text::xid8, $7::bigint))
    ORDER BY e.tx, e.position
    LIMIT $5
) AS p
ORDER BY p.tx, p.position
