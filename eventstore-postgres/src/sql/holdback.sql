-- The oldest transaction that holds an xid (a writer) in this database, if
-- it is older than the tracker's watermark lets pass: it holds back reading.
SELECT pid, (extract(epoch FROM now() - xact_start) * 1000000)::bigint AS age_us,
       coalesce(state, '') AS state, left(coalesce(query, ''), 200) AS query
FROM pg_stat_activity
WHERE backend_xid IS NOT NULL AND datname = current_database()
ORDER BY age(backend_xid) DESC
LIMIT 1
