-- Everything a command needs, in one round trip: a header row (part 0) with
-- what the key recorded, the latest snapshot and how many times the stream
-- was forgotten, then the first $4 events after the snapshot (part 1; the
-- repository reads the rest a page at a time, load_page.sql), with the
-- columns of load_page.sql only. Nothing more is read once the key was
-- used.
-- The rows come in no set order: the reader finds the header by its part
-- and puts the events in version order itself. The events' ORDER BY only
-- says which $4 are read: the index returns them in that order, so the
-- limit stops its scan (tests/tests/postgres_plans.rs checks that no plan
-- sorts them, as one without the limit did on tables without statistics).
-- The key's row is load_stream_key.sql for a command with a key, and none
-- for one without: PostgreSQL would set up the probe's index scan on every
-- execution, needed or not (as for append_guard_*.sql).
-- rejected is null when the key was not used, else whether the
-- command was refused, with its domain error in rejection.
-- $1 kind, $2 id, $3 idempotency key (unused without one), $4 most events
WITH key AS (
    {key}
), snap AS (
    SELECT version, schema_version, state
    FROM {schema}.snapshots
    WHERE aggregate_kind = $1 AND aggregate_id = $2 AND NOT EXISTS (SELECT 1 FROM key)
)
SELECT 0 AS part, (SELECT rejected FROM key) AS rejected,
       (SELECT rejection FROM key) AS rejection, s.version AS snapshot_version,
       s.schema_version AS snapshot_schema_version, s.state,
       coalesce((SELECT f.forgets FROM {schema}.forgotten AS f
                 WHERE f.aggregate_kind = $1 AND f.aggregate_id = $2), 0) AS forgets,
       NULL::bigint AS position, NULL::bigint AS version, NULL::text AS kind,
       NULL::integer AS schema_version, NULL::jsonb AS body
FROM (SELECT 1) AS one LEFT JOIN snap AS s ON true
UNION ALL
(SELECT 1, NULL, NULL, NULL, NULL, NULL, NULL, e.position, e.version, e.kind,
        e.schema_version, e.body
 FROM {schema}.events AS e
 WHERE e.aggregate_kind = $1 AND e.aggregate_id = $2
   AND NOT EXISTS (SELECT 1 FROM key)
   AND e.version > coalesce((SELECT version FROM snap), 0)
 ORDER BY e.version
 LIMIT $4)
