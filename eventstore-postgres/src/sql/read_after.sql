-- A page (read_page.sql, in place of the page placeholder) as it was
-- scanned: every row, each with whether it passed the filter (first
-- column), then the columns of every event query (layout.rs), without body
-- and metadata when it did not pass: the last row tells the reader where
-- the scan ended, so that it can go on past a page in which nothing
-- passed. For reads of every partition, where most rows pass: ranking the
-- rows to send only those that pass (read_partition.sql) made a reactor
-- that reads everything 20% slower (benches/reactors.rs).
SELECT p.wanted, p.id, p.position, p.tx, p.aggregate_kind, p.aggregate_id, p.version,
       p.kind, p.schema_version, CASE WHEN p.wanted THEN p.body END AS body,
       CASE WHEN p.wanted THEN p.metadata END AS metadata,
       p.created_at, NULL::bigint AS rank
FROM ({page}) AS p
ORDER BY p.tx, p.position
