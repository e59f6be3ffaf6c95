-- A reactor's parked events with the events themselves. $1 reactor
SELECT e.id, e.position, e.tx, e.aggregate_kind, e.aggregate_id, e.version, e.kind,
       e.body, e.metadata, e.created_at,
       p.error, p.attempts, (extract(epoch FROM p.parked_at) * 1000000)::bigint AS parked_us
FROM {schema}.parked_events AS p
JOIN {schema}.events AS e ON e.position = p.position
WHERE p.reactor = $1
ORDER BY p.position
