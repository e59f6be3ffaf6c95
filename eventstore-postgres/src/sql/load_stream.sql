-- Everything a command needs, in one round trip: a header row (part 0) with
-- whether the key was used and the latest snapshot, then the events after
-- the snapshot (part 1). Nothing more is read once the key was used.
-- $1 kind, $2 id, $3 idempotency key (nullable)
WITH seen AS (
    SELECT $3::text IS NOT NULL AND EXISTS (
        SELECT 1 FROM {schema}.events
        WHERE aggregate_kind = $1 AND aggregate_id = $2 AND idempotency_key = $3::text
    ) AS seen
), snap AS (
    SELECT version, schema_version, state
    FROM {schema}.snapshots
    WHERE aggregate_kind = $1 AND aggregate_id = $2 AND NOT (SELECT seen FROM seen)
)
SELECT 0 AS part, (SELECT seen FROM seen) AS seen, s.version, s.schema_version, s.state AS body,
       NULL::text AS id, NULL::bigint AS position, NULL::bigint AS tx, NULL::text AS kind,
       NULL::jsonb AS metadata, NULL::bigint AS created_us
FROM (SELECT 1) AS one LEFT JOIN snap AS s ON true
UNION ALL
SELECT 1, NULL, e.version, NULL, e.body, e.id, e.position, e.tx::text::bigint, e.kind, e.metadata,
       (extract(epoch FROM e.created_at) * 1000000)::bigint
FROM {schema}.events AS e
WHERE e.aggregate_kind = $1 AND e.aggregate_id = $2
  AND NOT (SELECT seen FROM seen)
  AND e.version > coalesce((SELECT version FROM snap), 0)
ORDER BY part, version
