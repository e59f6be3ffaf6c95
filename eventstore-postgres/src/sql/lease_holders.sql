-- How many owners other than the caller hold a running lease of the
-- reactor: runners that are live even when their heartbeat lapsed.
-- $1 reactor, $2 owner
SELECT count(DISTINCT owner) FROM {schema}.leases
WHERE reactor = $1 AND owner <> $2 AND expires_at > clock_timestamp()
