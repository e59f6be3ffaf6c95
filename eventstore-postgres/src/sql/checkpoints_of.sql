-- Every stored checkpoint of a reactor. $1 reactor
SELECT partition, tx, position FROM {schema}.checkpoints WHERE reactor = $1
