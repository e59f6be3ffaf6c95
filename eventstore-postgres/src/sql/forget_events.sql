-- Erases fields of one stream's event bodies (GDPR forget): each
-- (event kind, field) pair names a top-level key that becomes null in the
-- events of that kind that hold a value in it. Rows, versions, positions
-- and ids stay. Field names are bound values, never part of this text.
-- $1 aggregate kind, $2 aggregate id, $3 $4 event kinds and fields, pairwise
UPDATE {schema}.events AS e
SET body = e.body || patch.nulls
FROM (
    SELECT ev.position, jsonb_object_agg(w.field, 'null'::jsonb) AS nulls
    FROM {schema}.events AS ev
    JOIN unnest($3::text[], $4::text[]) AS w (kind, field) ON w.kind = ev.kind
    WHERE ev.aggregate_kind = $1 AND ev.aggregate_id = $2
      AND jsonb_typeof(ev.body -> w.field) <> 'null'
    GROUP BY ev.position
) AS patch
WHERE e.position = patch.position
