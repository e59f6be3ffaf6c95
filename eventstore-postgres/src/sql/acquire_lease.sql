-- Takes a free or expired lease, or renews the caller's own, while the
-- reactor's stored partition count (if any) is the caller's. The count is
-- read FOR SHARE: a join that is re-partitioning holds the reactor's row,
-- and this statement then waits and reads the count it commits.
-- $1 reactor, $2 partition, $3 owner, $4 ttl in microseconds, $5 partitions
INSERT INTO {schema}.leases AS l (reactor, partition, owner, expires_at)
SELECT $1, $2, $3, clock_timestamp() + make_interval(secs => $4::bigint / 1000000.0)
WHERE coalesce((SELECT partitions FROM {schema}.reactors WHERE reactor = $1 FOR SHARE), $5) = $5
ON CONFLICT (reactor, partition) DO UPDATE
SET owner = excluded.owner, expires_at = excluded.expires_at
WHERE l.owner = excluded.owner OR l.expires_at <= clock_timestamp()
RETURNING owner
