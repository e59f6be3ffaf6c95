-- A page of one stream's events as a load folds them: the first $4 after a
-- version, in version order, with what decoding needs (kind, schema
-- version, body), what an error names (the position of a row that cannot
-- be read) and nothing more: no id, transaction, time or metadata to send
-- and decode for each of them. The index on
-- (aggregate_kind, aggregate_id, version) returns them in that order, so
-- the limit stops its scan.
-- $1 kind, $2 id, $3 after version, $4 most rows
SELECT position, version, kind, schema_version, body
FROM {schema}.events
WHERE aggregate_kind = $1 AND aggregate_id = $2 AND version > $3
ORDER BY version
LIMIT $4
