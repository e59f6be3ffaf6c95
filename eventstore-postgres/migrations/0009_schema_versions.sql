-- The schema version each event's body was written at (eventstore_core's
-- schema module), which reads hand to the decoder so that it upcasts the
-- rows of an older version to the current one. Appends and imports write
-- it; every row written before this migration is version 1, as the default
-- says, since no kind had a second version then.
--
-- A column with a constant default does not rewrite the table (PostgreSQL
-- 11 and later keep the default in the catalogue and read it for the old
-- rows), so this takes as long on a large table as on an empty one. A
-- CHECK added with the column would not rewrite it either, but would read
-- every row under the ALTER's exclusive lock to validate it (about 0.3 s
-- per 2 million rows, measured on PostgreSQL 15), so the check is added NOT
-- VALID: it holds for every row written from now on, and the old rows all
-- read the default, 1, which it allows.
ALTER TABLE events ADD COLUMN schema_version integer NOT NULL DEFAULT 1;
ALTER TABLE events ADD CONSTRAINT events_schema_version_from_1
    CHECK (schema_version >= 1) NOT VALID;
