-- $1 reactor, $2 partition, $3 owner
DELETE FROM {schema}.leases WHERE reactor = $1 AND partition = $2 AND owner = $3
