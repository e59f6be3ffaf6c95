-- How many live runners a reactor has. $1 reactor
SELECT count(*) FROM {schema}.runners WHERE reactor = $1 AND expires_at > clock_timestamp()
