-- The next transaction id the server will hand out.
SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint
