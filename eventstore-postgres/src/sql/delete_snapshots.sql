-- Deletes one stream's snapshots (GDPR forget: their state may hold a copy
-- of personal data in any shape; the next snapshot is folded from the
-- erased events). $1 aggregate kind, $2 aggregate id
DELETE FROM {schema}.snapshots
WHERE aggregate_kind = $1 AND aggregate_id = $2
