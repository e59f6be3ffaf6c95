-- Marks a runner live until its ttl runs out; returns the live runners of
-- the reactor, this one included. (The statement's own insert is not
-- visible to its select, hence the others plus one.)
-- $1 reactor, $2 owner, $3 ttl in microseconds, $4 partitions
WITH beat AS (
    INSERT INTO {schema}.runners AS r (reactor, owner, expires_at, partitions)
    VALUES ($1, $2, clock_timestamp() + make_interval(secs => $3::bigint / 1000000.0), $4)
    ON CONFLICT (reactor, owner) DO UPDATE
    SET expires_at = excluded.expires_at, partitions = excluded.partitions
)
SELECT count(*) + 1 FROM {schema}.runners
WHERE reactor = $1 AND owner <> $2 AND expires_at > clock_timestamp()
