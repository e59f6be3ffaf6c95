-- One checkpoint for each of a reactor's partitions.
-- $1 reactor, $2 partitions, $3 $4 the checkpoint (tx, position)
INSERT INTO {schema}.checkpoints (reactor, partition, tx, position)
SELECT $1, p, $3, $4
FROM generate_series(0, $2 - 1) AS p
