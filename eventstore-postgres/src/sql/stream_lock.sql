-- Makes forget and snapshot saves of one stream exclusive until the
-- transaction ends, so that a save never runs on a snapshot of the data
-- taken before a forget that commits meanwhile. $1 kind, $2 id
SELECT pg_advisory_xact_lock(hashtextextended('eventstore/' || $1 || '/' || $2, 0))
