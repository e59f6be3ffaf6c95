-- Parks an event, only while the caller's lease runs (a runner that lost
-- its lease cannot park an event the new holder handles). Parked again
-- (delivered again after a reset), its attempts add up: the count only
-- grows, which an operator's retry relies on (retried.sql).
-- $1 reactor, $2 position, $3 error, $4 attempts, $5 partition, $6 owner
INSERT INTO {schema}.parked_events AS p (reactor, position, error, attempts)
SELECT $1, $2, $3, $4
WHERE EXISTS (
    SELECT 1 FROM {schema}.leases
    WHERE reactor = $1 AND partition = $5 AND owner = $6 AND expires_at > clock_timestamp())
ON CONFLICT (reactor, position) DO UPDATE
SET error = excluded.error, attempts = p.attempts + excluded.attempts, parked_at = now()
