-- Removes one pending deadline: the same saga, name and due time (one moved
-- since is another deadline, and stays).
-- $1 saga kind, $2 saga id, $3 name, $4 due time (microseconds since 1970)
DELETE FROM {schema}.deadlines
WHERE saga_kind = $1 AND saga_id = $2 AND name = $3
  AND due = timestamptz 'epoch' + ($4::bigint / 1000000) * interval '1 second'
            + ($4::bigint % 1000000) * interval '1 microsecond'
