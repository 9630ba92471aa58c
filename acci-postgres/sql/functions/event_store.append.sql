-- Appends events to a stream if its version is as expected, and records the command.
-- p_expected: NULL for any version, 0 for "no stream", n for exactly n. The outcome is
-- 'appended' (with the new sequence numbers and the last event's log position),
-- 'conflict' (with the stream's version), or 'duplicate' (the command id was recorded
-- before, for this stream or another, whatever version was expected: the record's
-- stream, sequence numbers, position and events, so the caller needs no second call).
--
-- Appends to one stream take turns on a transaction-scoped advisory lock on the stream
-- (event_store.stream_lock_key; event_store.append_batch takes the same locks).
-- The lock assigns no transaction id, and the version is read after it is granted, with
-- a fresh snapshot: under READ COMMITTED each statement takes one. (Under REPEATABLE
-- READ or SERIALIZABLE the snapshot is the statement's first, taken before the lock, and
-- a second writer would read a stale version; the function refuses to run there.) So:
-- an append with any version never loses a race for the next sequence number; a
-- command id recorded by a racing append is always seen; and the INSERT, which assigns
-- the transaction its id, comes after the stream state it appends to. A transaction
-- therefore never holds an id older than that state, and the global log order
-- (transaction id, position) agrees with every stream's order. A caller who wrote
-- something earlier in the same transaction already holds an id; if that id is older
-- than the stream's last event, the append refuses with a serialization failure
-- (SQLSTATE 40001) rather than break the order.
--
-- Runs with its owner's rights (SECURITY DEFINER, a search path of pg_catalog only,
-- every name qualified), and is the only way acci_app writes events and command
-- records. It serves only the session's tenant (event_store.require_tenant, SQLSTATE
-- 'AC002'); every query names p_tenant, so row-level security takes no part.
--
-- It refuses, with SQLSTATE 'AC001', what the Rust API refuses about a whole append (the
-- twins of acci_core::validate_new_events and validate_expected): an empty batch or one
-- of more than 10,000 events, arrays of different lengths, an expected version below 0,
-- documents nested deeper than 64 levels (event_store.require_documents). The table's
-- constraints refuse the rest, row by row (the *_shape constraints of the baseline). One row comes back through OUT parameters; a
-- one-event append inserts with VALUES, a batch in order, reading its last position
-- from the identity sequence (see docs/performance.md for what each choice saved).
CREATE OR REPLACE FUNCTION event_store.append(
    p_tenant text,
    p_aggregate_type text,
    p_aggregate_id text,
    p_expected bigint,
    p_command_id uuid,
    p_event_ids uuid[],
    p_event_types text[],
    p_schema_versions integer[],
    p_data jsonb[],
    p_metadata jsonb[],
    OUT outcome text,
    OUT stream_version bigint,
    OUT recorded_aggregate_type text,
    OUT recorded_aggregate_id text,
    OUT first_sequence bigint,
    OUT last_sequence bigint,
    OUT last_transaction_id text,
    OUT last_position bigint,
    OUT recorded_events jsonb
) LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
    v_current bigint;
    v_count bigint := cardinality(p_event_ids);
    v_last_transaction xid8;
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'event_store.append runs under READ COMMITTED only, not %',
                current_setting('transaction_isolation')
            USING ERRCODE = 'invalid_transaction_state',
                  HINT = 'under a stricter isolation its snapshot predates the stream lock; set default_transaction_isolation to read committed for the store''s role';
    END IF;

    PERFORM event_store.require_tenant(p_tenant);
    IF v_count IS NULL OR v_count < 1 OR v_count > 10000 THEN
        RAISE EXCEPTION 'event list: has % events; an append takes 1 to 10000', coalesce(v_count, 0)
            USING ERRCODE = 'AC001';
    END IF;
    IF cardinality(p_event_types) IS DISTINCT FROM v_count
       OR cardinality(p_schema_versions) IS DISTINCT FROM v_count
       OR cardinality(p_data) IS DISTINCT FROM v_count
       OR cardinality(p_metadata) IS DISTINCT FROM v_count THEN
        RAISE EXCEPTION 'event list: the arrays of ids, types, schema versions, payloads and metadata differ in length'
            USING ERRCODE = 'AC001';
    END IF;
    IF p_expected < 0 THEN
        RAISE EXCEPTION 'expected version: is %; it is NULL (any), 0 (no stream) or a version', p_expected
            USING ERRCODE = 'AC001';
    END IF;
    PERFORM event_store.require_documents('payload of event', p_data);
    PERFORM event_store.require_documents('metadata of event', p_metadata);

    PERFORM pg_advisory_xact_lock(
        event_store.stream_lock_key(p_tenant, p_aggregate_type, p_aggregate_id));

    IF p_command_id IS NOT NULL THEN
        SELECT 'duplicate', c.aggregate_type, c.aggregate_id, c.first_sequence, c.last_sequence,
               c.last_transaction_id::text, c.last_position,
               event_store.command_events(c.tenant_id, c.aggregate_type, c.aggregate_id,
                                          c.first_sequence, c.last_sequence)
          INTO outcome, recorded_aggregate_type, recorded_aggregate_id, first_sequence,
               last_sequence, last_transaction_id, last_position, recorded_events
          FROM event_store.commands c
         WHERE c.tenant_id = p_tenant AND c.command_id = p_command_id;
        IF FOUND THEN
            RETURN;
        END IF;
    END IF;

    SELECT e.sequence, e.transaction_id INTO v_current, v_last_transaction
      FROM event_store.events e
     WHERE e.tenant_id = p_tenant AND e.aggregate_type = p_aggregate_type AND e.aggregate_id = p_aggregate_id
     ORDER BY e.sequence DESC
     LIMIT 1;
    v_current := coalesce(v_current, 0);

    IF pg_current_xact_id_if_assigned() < v_last_transaction THEN
        RAISE EXCEPTION 'this transaction wrote before the last event of the stream was appended; append in a transaction of its own, or as its first write'
            USING ERRCODE = 'serialization_failure';
    END IF;

    IF p_expected IS NOT NULL AND p_expected <> v_current THEN
        outcome := 'conflict';
        stream_version := v_current;
        RETURN;
    END IF;

    -- Only a writer that bypassed this function (and its lock) can have taken these
    -- sequence numbers: it meets events_stream_sequence_key, which the caller turns into
    -- a concurrency conflict.
    IF v_count = 1 THEN
        INSERT INTO event_store.events
            (event_id, tenant_id, aggregate_type, aggregate_id, sequence,
             event_type, schema_version, data, metadata)
        VALUES (p_event_ids[1], p_tenant, p_aggregate_type, p_aggregate_id, v_current + 1,
                p_event_types[1], p_schema_versions[1], p_data[1], p_metadata[1])
        RETURNING position INTO last_position;
    ELSE
        INSERT INTO event_store.events
            (event_id, tenant_id, aggregate_type, aggregate_id, sequence,
             event_type, schema_version, data, metadata)
        SELECT u.event_id, p_tenant, p_aggregate_type, p_aggregate_id, v_current + u.ord,
               u.event_type, u.schema_version, u.data, u.metadata
          FROM unnest(p_event_ids, p_event_types, p_schema_versions, p_data, p_metadata)
               WITH ORDINALITY AS u(event_id, event_type, schema_version, data, metadata, ord)
         ORDER BY u.ord;
        -- Rows take their positions in insertion order, so the last one this session
        -- drew is the batch's last event.
        last_position := currval('event_store.events_position_seq');
    END IF;

    -- The same command id, recorded at this moment by an append to another stream (the
    -- lock is per stream), meets commands_pkey; the caller answers with its record.
    IF p_command_id IS NOT NULL THEN
        INSERT INTO event_store.commands
            (tenant_id, command_id, aggregate_type, aggregate_id, first_sequence,
             last_sequence, last_transaction_id, last_position)
        VALUES (p_tenant, p_command_id, p_aggregate_type, p_aggregate_id, v_current + 1,
                v_current + v_count, pg_current_xact_id(), last_position);
    END IF;

    outcome := 'appended';
    stream_version := v_current + v_count;
    first_sequence := v_current + 1;
    last_sequence := v_current + v_count;
    last_transaction_id := pg_current_xact_id()::text;
END;
$$;

REVOKE ALL ON FUNCTION event_store.append(text, text, text, bigint, uuid, uuid[], text[], integer[], jsonb[], jsonb[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION event_store.append(text, text, text, bigint, uuid, uuid[], text[], integer[], jsonb[], jsonb[]) TO acci_app;
