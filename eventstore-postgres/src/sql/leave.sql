-- $1 reactor, $2 owner
DELETE FROM {schema}.runners WHERE reactor = $1 AND owner = $2
