-- Erases fields of one stream's event bodies (GDPR forget): each
-- (event kind, field) pair names a top-level key that becomes null in the
-- events of that kind that hold a value in it. Rows, versions, positions
-- and ids stay. Field names are bound values, never part of this text.
-- A spared (kind, schema version, field) keeps the field in the events of
-- that kind written at that version.
-- $1 aggregate kind, $2 aggregate id, $3 $4 event kinds and fields, pairwise,
-- $5 $6 $7 the spared kinds, schema versions and fields
UPDATE {schema}.events AS e
SET body = e.body || patch.nulls
FROM (
    SELECT ev.position, jsonb_object_agg(w.field, 'null'::jsonb) AS nulls
    FROM {schema}.events AS ev
    JOIN unnest($3::text[], $4::text[]) AS w (kind, field) ON w.kind = ev.kind
    WHERE ev.aggregate_kind = $1 AND ev.aggregate_id = $2
      AND jsonb_typeof(ev.body -> w.field) <> 'null'
      AND NOT EXISTS (
          SELECT 1 FROM unnest($5::text[], $6::integer[], $7::text[]) AS s (kind, version, field)
          WHERE s.kind = ev.kind AND s.version = ev.schema_version AND s.field = w.field)
    GROUP BY ev.position
) AS patch
WHERE e.position = patch.position
