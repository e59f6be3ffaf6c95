-- Locks the reactor's row until the joining transaction ends (creating it
-- with the joining runner's count when there is none), and returns the
-- stored count and whether the row was created now.
-- $1 reactor, $2 partitions
INSERT INTO {schema}.reactors AS r (reactor, partitions)
VALUES ($1, $2)
ON CONFLICT (reactor) DO UPDATE SET partitions = r.partitions
RETURNING partitions, (xmax = 0) AS created
