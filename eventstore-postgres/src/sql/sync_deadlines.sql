-- Makes the given deadlines the saga's pending ones, unless its deadlines
-- were synced from a later version; one statement, autocommitted.
-- $1 saga kind, $2 saga id, $3 version, $4 the saga id's stream hash (as
-- the events table keeps it), $5 names, $6 due times (microseconds since
-- 1970), $7 payloads (JSON text).
--
-- The saga's row in deadline_sagas orders its syncs: a sync claims it
-- (inserts it, or moves it from the syncs count this statement's snapshot
-- saw), then deletes the saga's rows and inserts the new ones. Under READ
-- COMMITTED the claim waits for a concurrent sync that holds the row, and
-- then finds the count moved: that sync committed rows this statement's
-- snapshot cannot see, so it writes nothing and answers synced = false,
-- newer = false, and the caller sends it again with a fresh snapshot. A
-- claim is needed even when the saga has no deadline row to lock, and
-- without it two syncs with disjoint names would both insert theirs and
-- leave a mixture of two versions, and two with one name would fail on the
-- primary key.
--
-- A payload that jsonb refuses fails the statement: nothing is written.
WITH seen AS (
    SELECT version, syncs FROM {schema}.deadline_sagas
    WHERE saga_kind = $1 AND saga_id = $2
), first AS (
    INSERT INTO {schema}.deadline_sagas (saga_kind, saga_id, version, syncs)
    SELECT $1, $2, $3, 1
    WHERE NOT EXISTS (SELECT FROM seen)
    ON CONFLICT (saga_kind, saga_id) DO NOTHING
    RETURNING true AS claimed
), later AS (
    UPDATE {schema}.deadline_sagas AS s
    SET version = $3, syncs = s.syncs + 1
    FROM seen
    WHERE s.saga_kind = $1 AND s.saga_id = $2
      AND s.syncs = seen.syncs AND seen.version <= $3
    RETURNING true AS claimed
), claim AS (
    SELECT claimed FROM first UNION ALL SELECT claimed FROM later
), gone AS (
    DELETE FROM {schema}.deadlines
    WHERE saga_kind = $1 AND saga_id = $2 AND EXISTS (SELECT FROM claim)
    RETURNING 1
), kept AS (
    INSERT INTO {schema}.deadlines (saga_kind, saga_id, name, due, payload, version, stream_hash)
    SELECT $1, $2, d.name,
           timestamptz 'epoch' + (d.due / 1000000) * interval '1 second'
               + (d.due % 1000000) * interval '1 microsecond',
           d.payload::jsonb, $3, $4
    FROM unnest($5::text[], $6::bigint[], $7::text[]) AS d (name, due, payload)
    -- after the delete: the sub-statements of a WITH run in no set order,
    -- and a name kept from the rows deleted would meet its old row
    WHERE EXISTS (SELECT FROM claim) AND (SELECT count(*) FROM gone) >= 0
)
SELECT EXISTS (SELECT FROM claim) AS synced,
       coalesce((SELECT version > $3 FROM seen), false) AS newer
