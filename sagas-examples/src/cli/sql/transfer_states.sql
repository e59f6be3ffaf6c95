-- How many transfers end in each event kind, and how many of those started
-- more than $2 seconds ago (stuck, when the kind is not a settled one).
-- $1 the aggregate kind of transfers, $2 the age in seconds.
WITH transfers AS ({transfers})
SELECT kind,
       count(*) AS transfers,
       count(*) FILTER (WHERE extract(epoch FROM now() - started_at) > $2::float8) AS older
  FROM transfers
 GROUP BY kind
 ORDER BY kind
