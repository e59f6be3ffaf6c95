-- Drops a reactor's checkpoints and leases and stores its new partition
-- count, before repartition_start.sql writes the new checkpoints.
-- $1 reactor, $2 partitions
WITH gone AS (
    DELETE FROM {schema}.checkpoints WHERE reactor = $1
), unleased AS (
    DELETE FROM {schema}.leases WHERE reactor = $1
)
INSERT INTO {schema}.reactors (reactor, partitions) VALUES ($1, $2)
ON CONFLICT (reactor) DO UPDATE SET partitions = excluded.partitions
