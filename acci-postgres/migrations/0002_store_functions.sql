-- The store's operations as functions, so that each is one round trip and one statement:
-- the function sets the session's tenant for its own transaction (set_config(..., true))
-- and then runs its queries under row-level security. They are SECURITY INVOKER: they
-- can do nothing the calling role could not do itself.
--
-- Validation failures raise SQLSTATE 'AC001'; the Rust side maps them to
-- StoreError::Validation.

-- The last sequence number of a stream under the session's tenant, 0 if it has none.
-- Written as ORDER BY ... LIMIT 1 rather than max(): with row-level security on the
-- table the planner cannot turn max() into a one-row index probe, and would read the
-- whole stream on every append.
CREATE FUNCTION event_store.current_version(p_tenant text, p_aggregate_type text, p_aggregate_id text)
RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT coalesce((
        SELECT e.sequence FROM event_store.events e
         WHERE e.tenant_id = p_tenant AND e.aggregate_type = p_aggregate_type AND e.aggregate_id = p_aggregate_id
         ORDER BY e.sequence DESC
         LIMIT 1), 0);
$$;

-- Appends events to a stream if its version is as expected, and records the command.
-- p_expected: NULL for any version, 0 for "no stream", n for exactly n.
--
-- Appends to one stream take turns on a transaction-scoped advisory lock on the stream.
-- The lock assigns no transaction id, and the version is read after it is granted, so:
-- an append with any version never loses a race for the next sequence number; a
-- command id recorded by a racing append is always seen; and the INSERT, which assigns
-- the transaction its id, comes after the stream state it appends to. A transaction
-- therefore never holds an id older than that state, and the global log order
-- (transaction id, position) agrees with every stream's order. A caller who wrote
-- something earlier in the same transaction already holds an id; if that id is older
-- than the stream's last event, the append refuses with a serialization failure
-- (SQLSTATE 40001) rather than break the order.
CREATE FUNCTION event_store.append(
    p_tenant text,
    p_aggregate_type text,
    p_aggregate_id text,
    p_expected bigint,
    p_command_id uuid,
    p_event_ids uuid[],
    p_event_types text[],
    p_schema_versions integer[],
    p_data jsonb[],
    p_metadata jsonb[]
) RETURNS TABLE (
    outcome text,
    stream_version bigint,
    first_sequence bigint,
    last_sequence bigint,
    last_transaction_id text,
    last_position bigint
) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_current bigint;
    v_count bigint := cardinality(p_event_ids);
    v_last_position bigint;
    v_last_transaction xid8;
BEGIN
    PERFORM set_config('acci.tenant_id', p_tenant, true);
    PERFORM pg_advisory_xact_lock(
        hashtextextended(p_tenant || chr(31) || p_aggregate_type || chr(31) || p_aggregate_id, 0));

    IF p_command_id IS NOT NULL THEN
        RETURN QUERY
            SELECT 'duplicate'::text, NULL::bigint, c.first_sequence, c.last_sequence,
                   c.last_transaction_id::text, c.last_position
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
        RETURN QUERY SELECT 'conflict'::text, v_current, NULL::bigint, NULL::bigint, NULL::text, NULL::bigint;
        RETURN;
    END IF;

    -- A writer that read the same version and inserts the same sequence numbers meets
    -- events_stream_sequence_key; the caller turns that into a concurrency conflict.
    WITH inserted AS (
        INSERT INTO event_store.events
            (event_id, tenant_id, aggregate_type, aggregate_id, sequence,
             event_type, schema_version, data, metadata)
        SELECT u.event_id, p_tenant, p_aggregate_type, p_aggregate_id, v_current + u.ord,
               u.event_type, u.schema_version, u.data, u.metadata
          FROM unnest(p_event_ids, p_event_types, p_schema_versions, p_data, p_metadata)
               WITH ORDINALITY AS u(event_id, event_type, schema_version, data, metadata, ord)
         ORDER BY u.ord
        RETURNING position
    )
    SELECT max(position) INTO v_last_position FROM inserted;

    IF p_command_id IS NOT NULL THEN
        INSERT INTO event_store.commands
            (tenant_id, command_id, aggregate_type, aggregate_id, first_sequence,
             last_sequence, last_transaction_id, last_position)
        VALUES (p_tenant, p_command_id, p_aggregate_type, p_aggregate_id, v_current + 1,
                v_current + v_count, pg_current_xact_id(), v_last_position);
    END IF;

    RETURN QUERY SELECT 'appended'::text, v_current + v_count, v_current + 1, v_current + v_count,
                        pg_current_xact_id()::text, v_last_position;
END;
$$;

-- The version of one stream: the sequence number of its last event, 0 if it has none.
CREATE FUNCTION event_store.stream_version(p_tenant text, p_aggregate_type text, p_aggregate_id text)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    v_current bigint;
BEGIN
    PERFORM set_config('acci.tenant_id', p_tenant, true);
    v_current := event_store.current_version(p_tenant, p_aggregate_type, p_aggregate_id);
    RETURN v_current;
END;
$$;

-- The events of one stream from p_from to p_to (both included). Every committed event is
-- visible here at once: the global log's horizon does not apply to stream loads.
CREATE FUNCTION event_store.load_stream(
    p_tenant text, p_aggregate_type text, p_aggregate_id text, p_from bigint, p_to bigint
) RETURNS TABLE (
    global_position bigint, transaction_id text, event_id uuid, sequence bigint, event_type text,
    schema_version integer, data jsonb, metadata jsonb, recorded_at timestamptz
) LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    PERFORM set_config('acci.tenant_id', p_tenant, true);
    RETURN QUERY
        SELECT e.position, e.transaction_id::text, e.event_id, e.sequence, e.event_type,
               e.schema_version, e.data, e.metadata, e.recorded_at
          FROM event_store.events e
         WHERE e.tenant_id = p_tenant
           AND e.aggregate_type = p_aggregate_type
           AND e.aggregate_id = p_aggregate_id
           AND e.sequence BETWEEN p_from AND p_to
         ORDER BY e.sequence;
END;
$$;

-- What the command path needs, in one round trip: the newest snapshot taken at
-- p_state_version (NULL: none wanted) as a first row whose state_version is set, then the
-- events after it, or every event without one.
CREATE FUNCTION event_store.load_aggregate(
    p_tenant text, p_aggregate_type text, p_aggregate_id text, p_state_version bigint
) RETURNS TABLE (
    global_position bigint, transaction_id text, event_id uuid, sequence bigint, event_type text,
    schema_version integer, data jsonb, metadata jsonb, recorded_at timestamptz, state_version bigint
) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_from bigint := 1;
    v_snapshot record;
BEGIN
    PERFORM set_config('acci.tenant_id', p_tenant, true);
    IF p_state_version IS NOT NULL THEN
        SELECT s.version, s.state_version, s.state, s.taken_at INTO v_snapshot
          FROM snapshots.aggregate_snapshots s
         WHERE s.tenant_id = p_tenant AND s.aggregate_type = p_aggregate_type
           AND s.aggregate_id = p_aggregate_id AND s.state_version = p_state_version;
        IF FOUND THEN
            v_from := v_snapshot.version + 1;
            RETURN QUERY SELECT NULL::bigint, NULL::text, NULL::uuid, v_snapshot.version, NULL::text,
                                NULL::integer, v_snapshot.state, NULL::jsonb, v_snapshot.taken_at,
                                v_snapshot.state_version;
        END IF;
    END IF;
    RETURN QUERY
        SELECT e.position, e.transaction_id::text, e.event_id, e.sequence, e.event_type,
               e.schema_version, e.data, e.metadata, e.recorded_at, NULL::bigint
          FROM event_store.events e
         WHERE e.tenant_id = p_tenant
           AND e.aggregate_type = p_aggregate_type
           AND e.aggregate_id = p_aggregate_id
           AND e.sequence >= v_from
         ORDER BY e.sequence;
END;
$$;

-- The next batch of the global log after (p_after_transaction, p_after_position).
--
-- Only events of transactions older than the oldest one still running are returned
-- (pg_snapshot_xmin of the statement's snapshot). Every transaction that could still
-- commit has an id at or above that horizon, so once a reader has passed a position it
-- never later finds a committed event before it: a late commit delays the reader, it is
-- never skipped. Order is (transaction id, position), the resume token both.
--
-- The horizon comes back in every row, and in one row with NULL event columns when there
-- is no event: a reader that found nothing may resume from (horizon, 0), past every
-- event that was filtered out, because the horizon and the events come from one snapshot.
-- p_tenant NULL reads every tenant; that needs membership in acci_all_tenants.
CREATE FUNCTION event_store.read_log(
    p_tenant text, p_after_transaction xid8, p_after_position bigint, p_limit integer, p_event_types text[]
) RETURNS TABLE (
    horizon text, global_position bigint, transaction_id text, event_id uuid, tenant_id text,
    aggregate_type text, aggregate_id text, sequence bigint, event_type text, schema_version integer,
    data jsonb, metadata jsonb, recorded_at timestamptz
) LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    IF p_tenant IS NULL THEN
        IF NOT pg_has_role(current_user, 'acci_all_tenants', 'MEMBER') THEN
            RAISE EXCEPTION 'role % may not read the events of every tenant', current_user
                USING ERRCODE = 'insufficient_privilege',
                      HINT = 'grant it acci_all_tenants, or read one tenant';
        END IF;
        PERFORM set_config('acci.all_tenants', 'on', true);
        RETURN QUERY
            SELECT h.horizon::text, e.position, e.transaction_id::text, e.event_id, e.tenant_id,
                   e.aggregate_type, e.aggregate_id, e.sequence, e.event_type, e.schema_version,
                   e.data, e.metadata, e.recorded_at
              FROM (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS horizon) h
              LEFT JOIN LATERAL (
                  SELECT * FROM event_store.events ev
                   WHERE (ev.transaction_id, ev.position) > (p_after_transaction, p_after_position)
                     AND ev.transaction_id < h.horizon
                     AND (p_event_types IS NULL OR ev.event_type = ANY (p_event_types))
                   ORDER BY ev.transaction_id, ev.position
                   LIMIT p_limit
              ) e ON true
             ORDER BY e.transaction_id, e.position;
    ELSE
        -- The same query on the tenant's index.
        PERFORM set_config('acci.tenant_id', p_tenant, true);
        RETURN QUERY
            SELECT h.horizon::text, e.position, e.transaction_id::text, e.event_id, e.tenant_id,
                   e.aggregate_type, e.aggregate_id, e.sequence, e.event_type, e.schema_version,
                   e.data, e.metadata, e.recorded_at
              FROM (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS horizon) h
              LEFT JOIN LATERAL (
                  SELECT * FROM event_store.events ev
                   WHERE ev.tenant_id = p_tenant
                     AND (ev.transaction_id, ev.position) > (p_after_transaction, p_after_position)
                     AND ev.transaction_id < h.horizon
                     AND (p_event_types IS NULL OR ev.event_type = ANY (p_event_types))
                   ORDER BY ev.transaction_id, ev.position
                   LIMIT p_limit
              ) e ON true
             ORDER BY e.transaction_id, e.position;
    END IF;
END;
$$;

-- Keeps the newest snapshot per stream; an older one than stored is ignored.
CREATE FUNCTION snapshots.save(
    p_tenant text, p_aggregate_type text, p_aggregate_id text, p_version bigint,
    p_state_version bigint, p_state jsonb, p_taken_at timestamptz
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v_current bigint;
BEGIN
    PERFORM set_config('acci.tenant_id', p_tenant, true);
    v_current := event_store.current_version(p_tenant, p_aggregate_type, p_aggregate_id);
    IF p_version < 1 OR p_version > v_current THEN
        RAISE EXCEPTION 'is %, but the stream is at version %; a snapshot must cover 1 to % events',
            p_version, v_current, v_current
            USING ERRCODE = 'AC001';
    END IF;
    INSERT INTO snapshots.aggregate_snapshots AS s
        (tenant_id, aggregate_type, aggregate_id, version, state_version, state, taken_at)
    VALUES (p_tenant, p_aggregate_type, p_aggregate_id, p_version, p_state_version, p_state, p_taken_at)
    ON CONFLICT (tenant_id, aggregate_type, aggregate_id) DO UPDATE
        SET version = excluded.version, state_version = excluded.state_version,
            state = excluded.state, taken_at = excluded.taken_at
        WHERE s.version <= excluded.version;
END;
$$;

CREATE FUNCTION snapshots.load(p_tenant text, p_aggregate_type text, p_aggregate_id text)
RETURNS TABLE (version bigint, state_version bigint, state jsonb, taken_at timestamptz)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    PERFORM set_config('acci.tenant_id', p_tenant, true);
    RETURN QUERY
        SELECT s.version, s.state_version, s.state, s.taken_at
          FROM snapshots.aggregate_snapshots s
         WHERE s.tenant_id = p_tenant AND s.aggregate_type = p_aggregate_type AND s.aggregate_id = p_aggregate_id;
END;
$$;

CREATE FUNCTION event_store.find_command(p_tenant text, p_command_id uuid)
RETURNS TABLE (
    aggregate_type text, aggregate_id text, first_sequence bigint, last_sequence bigint,
    last_transaction_id text, last_position bigint
) LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    PERFORM set_config('acci.tenant_id', p_tenant, true);
    RETURN QUERY
        SELECT c.aggregate_type, c.aggregate_id, c.first_sequence, c.last_sequence,
               c.last_transaction_id::text, c.last_position
          FROM event_store.commands c
         WHERE c.tenant_id = p_tenant AND c.command_id = p_command_id;
END;
$$;

-- Which of these event ids are taken. Row-level security makes PostgreSQL leave the key
-- out of a unique violation's message, and the taken id may belong to another tenant,
-- so this one function runs with its owner's rights; it reveals nothing but the ids the
-- caller itself sent.
CREATE FUNCTION event_store.taken_event_ids(p_event_ids uuid[])
RETURNS SETOF uuid LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT e.event_id FROM event_store.events e WHERE e.event_id = ANY (p_event_ids);
$$;

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA event_store, snapshots FROM PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA event_store, snapshots TO acci_app;
