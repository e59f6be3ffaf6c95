-- Extends a lease the caller still holds; no row comes back when it ran out
-- or is gone (taken by another runner, dropped by a reset or a
-- re-partition), and nothing changes: a renewal never takes a lease anew.
-- $1 reactor, $2 partition, $3 owner, $4 ttl in microseconds
UPDATE {schema}.leases
SET expires_at = clock_timestamp() + make_interval(secs => $4::bigint / 1000000.0)
WHERE reactor = $1 AND partition = $2 AND owner = $3 AND expires_at > clock_timestamp()
RETURNING owner
