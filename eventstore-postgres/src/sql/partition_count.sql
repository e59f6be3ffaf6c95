-- A reactor's stored partition count. $1 reactor
SELECT partitions FROM {schema}.reactors WHERE reactor = $1
