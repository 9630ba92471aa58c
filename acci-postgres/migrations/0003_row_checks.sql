-- The row rules of the baseline, as one CHECK constraint a table, each calling a function.
--
-- The rules stay what they were (the *_shape constraints and the column checks of
-- 0001_baseline.sql, the SQL twins of acci-core's ids.rs and metadata.rs), and so does
-- what a writer meets when it breaks one: SQLSTATE 23514 (check_violation) with the name
-- of the rule it broke as the error's constraint, and now a message that says which
-- column and why. What changes is the cost. PostgreSQL prepares every CHECK expression of
-- a table each time a statement first inserts into it (ExecRelCheck builds them per
-- result relation), so a one-row INSERT paid for preparing nine expressions, the largest
-- being the metadata rule: about 40 µs of a 90 µs one-event append, measured on the
-- benchmark machine (docs/performance.md, "Row checks"). A function call is one small
-- expression to prepare, and PL/pgSQL keeps its own expressions prepared for the
-- session.
--
-- The functions are part of the tables' definition, like the constraints were, so they
-- live here and not among the re-applied functions of acci-postgres/sql/functions/: a
-- changed rule is a new migration. They are IMMUTABLE (they read nothing but their
-- arguments) and refuse by raising, so that the error names the broken rule; they never
-- return false. Every name is qualified: a writer's search path does not choose which
-- functions and operators judge its rows.

CREATE FUNCTION event_store.refuse_row(p_constraint text, p_table text, p_column text, p_message text)
RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RAISE EXCEPTION '%', p_message
        USING ERRCODE = 'check_violation', CONSTRAINT = p_constraint, TABLE = p_table,
              COLUMN = p_column;
END;
$$;

-- A tenant id or a type name: 1 to 256 bytes, no control characters. An aggregate id:
-- 1 to 1024 bytes, anything else allowed. Returns the constraint's name for a refusal,
-- or NULL.
CREATE FUNCTION event_store.name_refusal(p_value text, p_max_bytes integer, p_plain boolean)
RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF pg_catalog.octet_length(p_value) OPERATOR(pg_catalog.<) 1 THEN
        RETURN 'is empty';
    ELSIF pg_catalog.octet_length(p_value) OPERATOR(pg_catalog.>) p_max_bytes THEN
        RETURN pg_catalog.format('is %s bytes long; at most %s are allowed',
                                 pg_catalog.octet_length(p_value), p_max_bytes);
    ELSIF p_plain AND p_value OPERATOR(pg_catalog.~) '[\x01-\x1f\x7f-\x9f]' THEN
        RETURN 'contains a control character';
    END IF;
    RETURN NULL;
END;
$$;

CREATE FUNCTION event_store.event_row_ok(
    p_tenant_id text, p_aggregate_type text, p_aggregate_id text, p_sequence bigint,
    p_event_type text, p_schema_version integer, p_data jsonb, p_metadata jsonb
) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v_refusal text;
    v_value jsonb;
BEGIN
    v_refusal := event_store.name_refusal(p_tenant_id, 256, true);
    IF v_refusal IS NOT NULL THEN
        RETURN event_store.refuse_row('events_tenant_id_shape', 'events', 'tenant_id', 'tenant id ' || v_refusal);
    END IF;
    v_refusal := event_store.name_refusal(p_aggregate_type, 256, true);
    IF v_refusal IS NOT NULL THEN
        RETURN event_store.refuse_row('events_aggregate_type_shape', 'events', 'aggregate_type', 'aggregate type ' || v_refusal);
    END IF;
    v_refusal := event_store.name_refusal(p_aggregate_id, 1024, false);
    IF v_refusal IS NOT NULL THEN
        RETURN event_store.refuse_row('events_aggregate_id_shape', 'events', 'aggregate_id', 'aggregate id ' || v_refusal);
    END IF;
    IF p_sequence OPERATOR(pg_catalog.<) 1 THEN
        RETURN event_store.refuse_row('events_sequence_check', 'events', 'sequence',
                                      pg_catalog.format('sequence is %s; streams count from 1', p_sequence));
    END IF;
    v_refusal := event_store.name_refusal(p_event_type, 256, true);
    IF v_refusal IS NOT NULL THEN
        RETURN event_store.refuse_row('events_event_type_shape', 'events', 'event_type', 'event type ' || v_refusal);
    END IF;
    IF p_schema_version OPERATOR(pg_catalog.<) 1 THEN
        RETURN event_store.refuse_row('events_schema_version_check', 'events', 'schema_version',
                                      pg_catalog.format('schema version is %s; versions count from 1', p_schema_version));
    END IF;
    IF pg_catalog.jsonb_typeof(p_data) OPERATOR(pg_catalog.<>) 'object' THEN
        RETURN event_store.refuse_row('events_data_check', 'events', 'data',
                                      'payload is ' || pg_catalog.jsonb_typeof(p_data) || ', not an object');
    END IF;
    IF pg_catalog.jsonb_typeof(p_metadata) OPERATOR(pg_catalog.<>) 'object' THEN
        RETURN event_store.refuse_row('events_metadata_check', 'events', 'metadata',
                                      'metadata is ' || pg_catalog.jsonb_typeof(p_metadata) || ', not an object');
    END IF;
    -- What acci_core::Metadata reads: correlation_id and causation_id are UUIDs in text,
    -- user_id is text, entries is an object; other keys are ignored by readers.
    FOREACH v_refusal IN ARRAY ARRAY['correlation_id', 'causation_id'] LOOP
        v_value := p_metadata OPERATOR(pg_catalog.->) v_refusal;
        IF v_value IS NOT NULL AND (
               pg_catalog.jsonb_typeof(v_value) OPERATOR(pg_catalog.<>) 'string'
               OR NOT (p_metadata OPERATOR(pg_catalog.->>) v_refusal) OPERATOR(pg_catalog.~)
                      '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$') THEN
            RETURN event_store.refuse_row('events_metadata_shape', 'events', 'metadata',
                                          'metadata ' || v_refusal || ' is not a UUID in text');
        END IF;
    END LOOP;
    v_value := p_metadata OPERATOR(pg_catalog.->) 'user_id';
    IF v_value IS NOT NULL AND pg_catalog.jsonb_typeof(v_value) OPERATOR(pg_catalog.<>) 'string' THEN
        RETURN event_store.refuse_row('events_metadata_shape', 'events', 'metadata',
                                      'metadata user_id is ' || pg_catalog.jsonb_typeof(v_value) || ', not text');
    END IF;
    v_value := p_metadata OPERATOR(pg_catalog.->) 'entries';
    IF v_value IS NOT NULL AND pg_catalog.jsonb_typeof(v_value) OPERATOR(pg_catalog.<>) 'object' THEN
        RETURN event_store.refuse_row('events_metadata_shape', 'events', 'metadata',
                                      'metadata entries is ' || pg_catalog.jsonb_typeof(v_value) || ', not an object');
    END IF;
    RETURN true;
END;
$$;

CREATE FUNCTION event_store.command_row_ok(
    p_tenant_id text, p_aggregate_type text, p_aggregate_id text, p_first_sequence bigint,
    p_last_sequence bigint, p_last_position bigint
) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v_refusal text;
BEGIN
    v_refusal := event_store.name_refusal(p_tenant_id, 256, true);
    IF v_refusal IS NOT NULL THEN
        RETURN event_store.refuse_row('commands_tenant_id_shape', 'commands', 'tenant_id', 'tenant id ' || v_refusal);
    END IF;
    v_refusal := event_store.name_refusal(p_aggregate_type, 256, true);
    IF v_refusal IS NOT NULL THEN
        RETURN event_store.refuse_row('commands_aggregate_type_shape', 'commands', 'aggregate_type', 'aggregate type ' || v_refusal);
    END IF;
    v_refusal := event_store.name_refusal(p_aggregate_id, 1024, false);
    IF v_refusal IS NOT NULL THEN
        RETURN event_store.refuse_row('commands_aggregate_id_shape', 'commands', 'aggregate_id', 'aggregate id ' || v_refusal);
    END IF;
    IF p_first_sequence OPERATOR(pg_catalog.<) 1 THEN
        RETURN event_store.refuse_row('commands_first_sequence_check', 'commands', 'first_sequence',
                                      pg_catalog.format('first sequence is %s; streams count from 1', p_first_sequence));
    END IF;
    -- A command appended at least one event.
    IF p_last_sequence OPERATOR(pg_catalog.<) p_first_sequence THEN
        RETURN event_store.refuse_row('commands_sequences', 'commands', 'last_sequence',
                                      pg_catalog.format('last sequence %s is below the first, %s', p_last_sequence, p_first_sequence));
    END IF;
    IF p_last_position OPERATOR(pg_catalog.<) 1 THEN
        RETURN event_store.refuse_row('commands_last_position_check', 'commands', 'last_position',
                                      pg_catalog.format('last position is %s; positions count from 1', p_last_position));
    END IF;
    RETURN true;
END;
$$;

CREATE FUNCTION snapshots.snapshot_row_ok(
    p_tenant_id text, p_aggregate_type text, p_aggregate_id text, p_version bigint,
    p_state_version bigint
) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v_refusal text;
BEGIN
    v_refusal := event_store.name_refusal(p_tenant_id, 256, true);
    IF v_refusal IS NOT NULL THEN
        RETURN event_store.refuse_row('aggregate_snapshots_tenant_id_shape', 'aggregate_snapshots', 'tenant_id', 'tenant id ' || v_refusal);
    END IF;
    v_refusal := event_store.name_refusal(p_aggregate_type, 256, true);
    IF v_refusal IS NOT NULL THEN
        RETURN event_store.refuse_row('aggregate_snapshots_aggregate_type_shape', 'aggregate_snapshots', 'aggregate_type', 'aggregate type ' || v_refusal);
    END IF;
    v_refusal := event_store.name_refusal(p_aggregate_id, 1024, false);
    IF v_refusal IS NOT NULL THEN
        RETURN event_store.refuse_row('aggregate_snapshots_aggregate_id_shape', 'aggregate_snapshots', 'aggregate_id', 'aggregate id ' || v_refusal);
    END IF;
    IF p_version OPERATOR(pg_catalog.<) 1 THEN
        RETURN event_store.refuse_row('aggregate_snapshots_version_check', 'aggregate_snapshots', 'version',
                                      pg_catalog.format('version is %s; streams count from 1', p_version));
    END IF;
    IF p_state_version OPERATOR(pg_catalog.<) 0 THEN
        RETURN event_store.refuse_row('aggregate_snapshots_state_version_check', 'aggregate_snapshots', 'state_version',
                                      pg_catalog.format('state version is %s; it is 0 or more', p_state_version));
    END IF;
    RETURN true;
END;
$$;

-- The functions judge rows for whoever writes them; nobody calls them directly.
REVOKE ALL ON FUNCTION event_store.refuse_row(text, text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION event_store.name_refusal(text, integer, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION event_store.event_row_ok(text, text, text, bigint, text, integer, jsonb, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION event_store.command_row_ok(text, text, text, bigint, bigint, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION snapshots.snapshot_row_ok(text, text, text, bigint, bigint) FROM PUBLIC;

ALTER TABLE event_store.events
    DROP CONSTRAINT events_tenant_id_shape,
    DROP CONSTRAINT events_aggregate_type_shape,
    DROP CONSTRAINT events_aggregate_id_shape,
    DROP CONSTRAINT events_event_type_shape,
    DROP CONSTRAINT events_metadata_shape,
    DROP CONSTRAINT events_sequence_check,
    DROP CONSTRAINT events_schema_version_check,
    DROP CONSTRAINT events_data_check,
    DROP CONSTRAINT events_metadata_check,
    ADD CONSTRAINT events_row CHECK (event_store.event_row_ok(
        tenant_id, aggregate_type, aggregate_id, sequence, event_type, schema_version, data, metadata));

ALTER TABLE event_store.commands
    DROP CONSTRAINT commands_tenant_id_shape,
    DROP CONSTRAINT commands_aggregate_type_shape,
    DROP CONSTRAINT commands_aggregate_id_shape,
    DROP CONSTRAINT commands_sequences,
    DROP CONSTRAINT commands_first_sequence_check,
    DROP CONSTRAINT commands_last_position_check,
    ADD CONSTRAINT commands_row CHECK (event_store.command_row_ok(
        tenant_id, aggregate_type, aggregate_id, first_sequence, last_sequence, last_position));

ALTER TABLE snapshots.aggregate_snapshots
    DROP CONSTRAINT aggregate_snapshots_tenant_id_shape,
    DROP CONSTRAINT aggregate_snapshots_aggregate_type_shape,
    DROP CONSTRAINT aggregate_snapshots_aggregate_id_shape,
    DROP CONSTRAINT aggregate_snapshots_version_check,
    DROP CONSTRAINT aggregate_snapshots_state_version_check,
    ADD CONSTRAINT aggregate_snapshots_row CHECK (snapshots.snapshot_row_ok(
        tenant_id, aggregate_type, aggregate_id, version, state_version));
