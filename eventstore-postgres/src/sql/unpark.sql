-- $1 reactor, $2 position
DELETE FROM {schema}.parked_events WHERE reactor = $1 AND position = $2
