-- Records a retry's failure, only if no other retry or skip came between
-- (the attempts are still those the retry read).
-- $1 reactor, $2 position, $3 attempts read, $4 error
UPDATE {schema}.parked_events
SET error = $4, attempts = attempts + 1, parked_at = now()
WHERE reactor = $1 AND position = $2 AND attempts = $3
