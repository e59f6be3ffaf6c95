-- Unparks an event a retry handled, only if no other retry or skip came
-- between. $1 reactor, $2 position, $3 attempts read
DELETE FROM {schema}.parked_events
WHERE reactor = $1 AND position = $2 AND attempts = $3
