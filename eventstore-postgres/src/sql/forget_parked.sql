-- Parked events keep no copy of the body, but their error text may quote
-- it: a forget overwrites the error of the stream's parked events.
-- $1 aggregate kind, $2 aggregate id, $3 the text written instead
UPDATE {schema}.parked_events AS p
SET error = $3
FROM {schema}.events AS e
WHERE e.position = p.position
  AND e.aggregate_kind = $1 AND e.aggregate_id = $2
  AND p.error <> $3
