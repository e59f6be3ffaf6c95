-- The partition count of a live runner of the reactor, other than the
-- caller, that runs with another count than $3, if any.
-- $1 reactor, $2 owner, $3 partitions
SELECT partitions FROM {schema}.runners
WHERE reactor = $1 AND owner <> $2 AND expires_at > clock_timestamp()
  AND partitions IS DISTINCT FROM $3
LIMIT 1
