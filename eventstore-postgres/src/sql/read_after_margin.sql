-- read_after.sql in safety-margin mode: only rows older than a fixed lag.
-- Simple, and needs no view of running transactions, but it adds the lag to
-- every event's latency and still skips the rows of a transaction that
-- commits more than the lag after it wrote them.
-- $1 checkpoint tx, $2 checkpoint position, $3 aggregate kinds (empty: all),
-- $4 event kinds (empty: all), $5 how many rows to scan, $6 $7 last
-- checkpoint to read (null: no limit), $8 the lag in microseconds.
-- The rows have the shape of read_after.sql's.
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
      AND created_at <= now() - make_interval(secs => $8::bigint / 1000000.0)
      AND ($6::bigint IS NULL OR (tx, position) <= ($6::bigint::text::xid8, $7::bigint))
    ORDER BY e.tx, e.position
    LIMIT $5
) AS p
ORDER BY p.tx, p.position
