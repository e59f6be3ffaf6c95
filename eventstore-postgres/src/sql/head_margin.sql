-- head.sql in safety-margin mode. $1 the lag in microseconds
SELECT tx::text::bigint AS tx, position
FROM {schema}.events AS e
WHERE created_at <= now() - make_interval(secs => $1::bigint / 1000000.0)
ORDER BY e.tx DESC, e.position DESC
LIMIT 1
