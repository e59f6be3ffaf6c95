-- A refusal's domain error may quote personal data: a forget erases the
-- errors of the refusals recorded on the stream. Each key stays refused
-- (rejected), so a command with it is still not decided again.
-- $1 aggregate kind, $2 aggregate id
UPDATE {schema}.command_keys
SET rejection = NULL
WHERE aggregate_kind = $1 AND aggregate_id = $2 AND rejection IS NOT NULL
