-- $1 reactor, $2 position, $3 error, $4 attempts
INSERT INTO {schema}.parked_events AS p (reactor, position, error, attempts)
VALUES ($1, $2, $3, $4)
ON CONFLICT (reactor, position) DO UPDATE
SET error = excluded.error, attempts = excluded.attempts, parked_at = now()
