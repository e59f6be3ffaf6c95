-- A page of a reactor's parked events with the events themselves (columns
-- null when the event row is gone). $1 reactor, $2 after position, $3 limit
SELECT e.id, p.position, e.tx, e.aggregate_kind, e.aggregate_id, e.version, e.kind,
       e.schema_version, e.body, e.metadata, e.created_at,
       p.error, p.attempts, (extract(epoch FROM p.parked_at) * 1000000)::bigint AS parked_us
FROM {schema}.parked_events AS p
LEFT JOIN {schema}.events AS e ON e.position = p.position
WHERE p.reactor = $1 AND p.position > $2
ORDER BY p.position
LIMIT $3
