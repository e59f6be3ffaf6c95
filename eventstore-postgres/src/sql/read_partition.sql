-- A page (read_page.sql, in place of the page placeholder) for a reader of
-- one partition, which most rows do not pass: only the rows that pass come
-- back, and the last row scanned, marked as not passing unless it does,
-- each with its rank in the page (last column): the reader learns where the
-- scan ended and how many rows it scanned, to go on past rows in which
-- nothing passed, without receiving them. Ranking with row_number and lead
-- streams the page; a count(*) over the whole page, which must hold it
-- first, made the read 25% slower (pgbench, 100-row pages), and sending
-- every row scanned cost 4% more with 4 partitions, and 15% more server
-- time with 16 (scripts/bench-transfers, pg_stat_statements).
SELECT q.wanted, q.id, q.position, q.tx, q.aggregate_kind, q.aggregate_id, q.version,
       q.kind, q.schema_version, CASE WHEN q.wanted THEN q.body END AS body,
       CASE WHEN q.wanted THEN q.metadata END AS metadata,
       q.created_at, q.n AS rank
FROM (
    SELECT p.*, row_number() OVER w AS n, lead(true) OVER w IS NULL AS last
    FROM ({page}) AS p
    WINDOW w AS (ORDER BY p.tx, p.position)
) AS q
WHERE q.wanted OR q.last
ORDER BY q.tx, q.position
