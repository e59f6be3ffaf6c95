-- Takes a free or expired lease, or renews the caller's own.
-- $1 reactor, $2 partition, $3 owner, $4 ttl in microseconds
INSERT INTO {schema}.leases AS l (reactor, partition, owner, expires_at)
VALUES ($1, $2, $3, clock_timestamp() + make_interval(secs => $4::bigint / 1000000.0))
ON CONFLICT (reactor, partition) DO UPDATE
SET owner = excluded.owner, expires_at = excluded.expires_at
WHERE l.owner = excluded.owner OR l.expires_at <= clock_timestamp()
RETURNING owner
