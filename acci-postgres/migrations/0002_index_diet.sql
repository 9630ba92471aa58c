-- The events table's index diet, and the load functions the plain load statements
-- replaced.
--
-- Functions: the command path's load and the stream range load are plain statements
-- now (sql/store/load_aggregate.sql and load_stream.sql), which stream their rows; the
-- PL/pgSQL functions they replace collected each result whole before sending it. A
-- function whose file is gone stays in a database until a migration drops it, with its
-- row in event_store.schema_functions (see acci-postgres/src/migrate/functions.rs).

DROP FUNCTION IF EXISTS event_store.load_aggregate(text, text, text, bigint);
DROP FUNCTION IF EXISTS event_store.load_stream(text, text, text, bigint, bigint);
DELETE FROM event_store.schema_functions
 WHERE name IN ('event_store.load_aggregate', 'event_store.load_stream');

