-- Erases top-level fields of one stream's snapshot state (GDPR forget):
-- those that hold a value become null.
-- $1 aggregate kind, $2 aggregate id, $3 fields
UPDATE {schema}.snapshots AS s
SET state = s.state || (
    SELECT jsonb_object_agg(f, 'null'::jsonb)
    FROM unnest($3::text[]) AS f
    WHERE jsonb_typeof(s.state -> f) <> 'null'
)
WHERE s.aggregate_kind = $1 AND s.aggregate_id = $2
  AND EXISTS (
      SELECT 1 FROM unnest($3::text[]) AS f WHERE jsonb_typeof(s.state -> f) <> 'null'
  )
