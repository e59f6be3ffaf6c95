-- The version each stream is at (0 when it has no events), for an import:
-- one index probe per stream, in the order given.
-- $1 kinds, $2 ids
SELECT coalesce((
    SELECT max(e.version) FROM {schema}.events e
    WHERE e.aggregate_kind = s.kind AND e.aggregate_id = s.id), 0) AS version
FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS s (kind, id, n)
ORDER BY s.n
