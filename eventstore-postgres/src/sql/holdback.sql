-- The transaction that holds back the tracker's watermark,
-- tx < pg_snapshot_xmin(pg_current_snapshot()): the oldest one with an xid
-- (a writer) on the whole server, since the watermark is cluster-wide. It
-- may run in any database, or be prepared (two-phase) and run in no
-- process at all. Only one whose xid is not newer than the watermark holds
-- it back. Its query text only when it runs in this database: another
-- database's may show another application's data.
WITH watermark AS (
    SELECT age(pg_snapshot_xmin(pg_current_snapshot())::xid) AS xid_age
), holders AS (
    SELECT age(backend_xid) AS xid_age, coalesce(datname, '') AS database, pid,
           coalesce((extract(epoch FROM now() - xact_start) * 1000000)::bigint, 0) AS age_us,
           coalesce(state, '') AS state,
           CASE WHEN datname = current_database() THEN left(coalesce(query, ''), 200) ELSE '' END
               AS query,
           NULL::text AS gid, NULL::bigint AS prepared_us, NULL::text AS owner
    FROM pg_stat_activity
    WHERE backend_xid IS NOT NULL
    UNION ALL
    SELECT age(transaction), database, NULL,
           (extract(epoch FROM now() - prepared) * 1000000)::bigint,
           'prepared', '',
           gid, (extract(epoch FROM prepared) * 1000000)::bigint, owner
    FROM pg_prepared_xacts
)
SELECT holders.database, holders.pid, holders.age_us, holders.state, holders.query,
       holders.gid, holders.prepared_us, holders.owner
FROM holders, watermark
WHERE holders.xid_age >= watermark.xid_age
ORDER BY holders.xid_age DESC
LIMIT 1
