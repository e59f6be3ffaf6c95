-- $1 reactor
SELECT count(*) FROM {schema}.parked_events WHERE reactor = $1
