-- Stores a checkpoint only while the caller's lease runs (fencing: a runner
-- that lost its lease cannot move the checkpoint of the one that took it).
-- $1 reactor, $2 partition, $3 owner, $4 tx, $5 position
INSERT INTO {schema}.checkpoints AS c (reactor, partition, tx, position)
SELECT $1, $2, $4, $5
WHERE EXISTS (
    SELECT 1 FROM {schema}.leases
    WHERE reactor = $1 AND partition = $2 AND owner = $3 AND expires_at > clock_timestamp())
ON CONFLICT (reactor, partition) DO UPDATE
SET tx = excluded.tx, position = excluded.position, updated_at = now()
