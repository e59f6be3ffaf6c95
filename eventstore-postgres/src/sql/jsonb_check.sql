-- Whether jsonb takes one JSON text: after a sync_deadlines.sql that jsonb
-- refused, to name the deadline whose payload it refused (the statement's
-- error names no row). Reads no table.
-- $1 the JSON text
SELECT $1::text::jsonb IS NOT NULL AS taken
