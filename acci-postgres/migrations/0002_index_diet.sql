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

-- Indexes: what each of the events table's five indexes costs an append and which of
-- the store's reads use it is measured by acci-bench's index-cost program; the figures
-- are in docs/performance.md ("The index diet"). Four stay:
--   events_stream_sequence_key  a guarantee (optimistic concurrency: two appends after
--                               the same version collide here) and the index of every
--                               stream read: append, the loads, stream_version,
--                               find_command's events;
--   events_event_id_key         a guarantee (an event id is stored once: a taken id is
--                               refused, typed) and the lookup of taken_event_ids and of
--                               the dead letters' events;
--   events_log_idx              the global log across tenants (read_log for runners,
--                               log_lag, the horizon lag);
--   events_tenant_log_idx       one tenant's log (read_log for a tenant).
-- The primary key on position goes: no read of the store looks an event up by its
-- position alone (the log is read by (transaction_id, position), through the two log
-- indexes), and positions are unique without it: they come from the column's identity
-- sequence (GENERATED ALWAYS), which no writer of the store overrides (the application
-- role cannot insert at all; event_store.append takes what the sequence gives).
ALTER TABLE event_store.events DROP CONSTRAINT events_pkey;
-- Without a primary key a table has no replica identity, and logical replication could
-- not replicate a DELETE of events (a tenant erased): the event id identifies a row.
ALTER TABLE event_store.events REPLICA IDENTITY USING INDEX events_event_id_key;
