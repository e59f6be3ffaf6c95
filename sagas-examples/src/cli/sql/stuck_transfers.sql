-- The oldest $4 transfers that end in one of the kinds $2 (the unsettled
-- ones) and started more than $3 seconds ago, oldest first.
-- $1 the aggregate kind of transfers.
WITH transfers AS ({transfers})
SELECT aggregate_id,
       kind,
       extract(epoch FROM now() - started_at)::float8 AS age_seconds
  FROM transfers
 WHERE kind = ANY ($2::text[])
   AND extract(epoch FROM now() - started_at) > $3::float8
 ORDER BY started_at, aggregate_id
 LIMIT $4
