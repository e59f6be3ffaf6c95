-- What an operator sees of a saga kind's pending deadlines: how many, the
-- next due, how many are overdue at a time, and the earliest of those (one
-- row each, in firing order, the totals repeated on each; one row of totals
-- and nulls when none is overdue).
-- $1 saga kind, $2 the time (microseconds since 1970), $3 how many overdue
-- deadlines to list.
WITH at AS (
    SELECT timestamptz 'epoch' + ($2::bigint / 1000000) * interval '1 second'
           + ($2::bigint % 1000000) * interval '1 microsecond' AS now
), totals AS (
    SELECT count(*) AS pending, min(d.due) AS next_due,
           count(*) FILTER (WHERE d.due <= at.now) AS overdue
    FROM {schema}.deadlines AS d, at
    WHERE d.saga_kind = $1
), late AS (
    SELECT d.saga_id, d.version, d.name, d.due, d.payload
    FROM {schema}.deadlines AS d, at
    -- a range, read in index order up to the limit (due_deadlines.sql)
    WHERE d.saga_kind = $1 AND d.due >= timestamptz 'epoch' AND d.due <= at.now
    ORDER BY d.due, d.saga_id, d.name
    LIMIT $3
)
SELECT t.pending, t.next_due, t.overdue, l.saga_id, l.version, l.name, l.due, l.payload
FROM totals AS t LEFT JOIN late AS l ON true
ORDER BY l.due, l.saga_id, l.name
