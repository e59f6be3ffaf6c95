-- $1 reactor, $2 partition
SELECT tx, position FROM {schema}.checkpoints WHERE reactor = $1 AND partition = $2
