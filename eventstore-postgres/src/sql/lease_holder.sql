-- $1 reactor, $2 partition
SELECT owner FROM {schema}.leases
WHERE reactor = $1 AND partition = $2 AND expires_at > clock_timestamp()
