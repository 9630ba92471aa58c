-- Appends to many streams of one tenant in one transaction: request i appends the
-- p_event_counts[i] events that follow request i - 1's in the flattened event arrays to
-- the stream (p_aggregate_types[i], p_aggregate_ids[i]) if its version is p_expected[i]
-- (NULL any, 0 no stream, n exactly n), and records p_command_ids[i] (NULL: none). It
-- returns one row per request, in request order, with event_store.append's columns and
-- meanings: 'appended', 'conflict' (the stream's version) or 'duplicate' (the command's
-- record). A conflict or a duplicate is that request's outcome; the others go on. The
-- group commit of PgEventStore sends the appends that queued while another was in flight
-- as one call of this function (docs/postgres.md, "Group commit").
--
-- No EXCEPTION block and no subtransaction per request: each would cost a subtransaction
-- id, and past 64 of them in one transaction every other session's snapshot has to look
-- them up in pg_subtrans. A request that fails outright (a row the table's constraints
-- refuse, a duplicate event id, a sequence number a writer that bypassed the lock took,
-- a command id an append to another stream recorded at this moment) fails the whole
-- call, which then commits nothing; the caller sends each request again alone, through
-- event_store.append, so each gets its own answer.
--
-- The order of work keeps the invariant of event_store.append (read its header): the
-- global log order (transaction id, position) agrees with every stream's order.
--   1. Every stream's advisory lock (event_store.stream_lock_key) first, each stream once,
--      in ascending key order: two batches that share streams take them in the same
--      order and never deadlock on them; a one-stream append takes one lock only.
--   2. Then, with every lock held, each statement under a fresh READ COMMITTED snapshot:
--      the command ids already recorded, and each stream's version.
--   3. Each request decided in request order, as if they ran one after the other: its
--      command id (recorded before, or by an earlier request of the batch: 'duplicate'),
--      then its expected version against the stream's version after the earlier
--      requests ('conflict'), else 'appended' with the next sequence numbers.
--   4. One INSERT of every appended event, in request order, then one of every command
--      record; then the rows, a duplicate's record read back in its own query.
-- Set-based rather than a loop of statements per request: a batch costs a handful of
-- statements, whatever its size. Nothing is written before step 4, so the transaction
-- gets its id at its first INSERT, after every lock is granted. Each stream's last event
-- was committed by a transaction that held that stream's lock and released it at its
-- commit, before this one was granted it; that transaction's id was assigned before it
-- committed. Ids are assigned in increasing order, so this transaction's id is newer
-- than the last event of every stream it appends to. All its events share the id and
-- take their positions in insertion order, which is request order, so two requests for
-- one stream are ordered in the log as in the stream. A caller who wrote earlier in the
-- same transaction is refused as event_store.append refuses it (SQLSTATE 40001), and so
-- is a stricter isolation than READ COMMITTED.
--
-- Within the batch each request sees the ones before it: a second request for a stream
-- is decided against the version the first left, a second request with a command id the
-- first recorded is its 'duplicate'.
--
-- Runs with its owner's rights (SECURITY DEFINER, a search path of pg_catalog only,
-- every name qualified) and serves only the session's tenant (event_store.require_tenant,
-- SQLSTATE 'AC002'), as event_store.append does. It refuses, with SQLSTATE 'AC001', what
-- the Rust API refuses: no request or more than 1000, request arrays of different
-- lengths, a missing aggregate type or id, a request of no event or of more than 10,000,
-- event counts that do not add up to the event arrays (or event arrays of different
-- lengths), an expected version below 0, documents nested deeper than 64 levels.
CREATE OR REPLACE FUNCTION event_store.append_batch(
    p_tenant text,
    p_aggregate_types text[],
    p_aggregate_ids text[],
    p_expected bigint[],
    p_command_ids uuid[],
    p_event_counts integer[],
    p_event_ids uuid[],
    p_event_types text[],
    p_schema_versions integer[],
    p_data jsonb[],
    p_metadata jsonb[]
) RETURNS TABLE (
    outcome text,
    stream_version bigint,
    recorded_aggregate_type text,
    recorded_aggregate_id text,
    first_sequence bigint,
    last_sequence bigint,
    last_transaction_id text,
    last_position bigint,
    recorded_events jsonb
) LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
    v_requests integer := cardinality(p_aggregate_types);
    v_events integer := cardinality(p_event_ids);
    v_key bigint;
    -- Per request: its stream's and its command id's number within the batch, what was
    -- decided, and its sequence numbers (or, for a conflict, the stream's version).
    v_stream_of integer[];
    v_command_of integer[];
    v_outcome text[];
    v_first bigint[];
    v_last bigint[];
    v_position bigint[];
    -- Per stream: its version as the requests decided so far leave it.
    v_version bigint[];
    v_newest xid8;
    -- Per command id: the request of the batch that recorded it, 0 for none.
    v_recorded_by integer[];
    -- The command ids recorded before the batch.
    v_recorded uuid[];
    -- Per event: its sequence number if its request appends, else NULL.
    v_sequence bigint[];
    v_event integer := 0;
    v_appended integer := 0;
    v_commands integer := 0;
    v_transaction text;
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'event_store.append_batch runs under READ COMMITTED only, not %',
                current_setting('transaction_isolation')
            USING ERRCODE = 'invalid_transaction_state',
                  HINT = 'under a stricter isolation its snapshot predates the stream locks; set default_transaction_isolation to read committed for the store''s role';
    END IF;

    PERFORM event_store.require_tenant(p_tenant);
    IF v_requests IS NULL OR v_requests < 1 OR v_requests > 1000 THEN
        RAISE EXCEPTION 'append batch: has % requests; a batch takes 1 to 1000', coalesce(v_requests, 0)
            USING ERRCODE = 'AC001';
    END IF;
    IF cardinality(p_aggregate_ids) IS DISTINCT FROM v_requests
       OR cardinality(p_expected) IS DISTINCT FROM v_requests
       OR cardinality(p_command_ids) IS DISTINCT FROM v_requests
       OR cardinality(p_event_counts) IS DISTINCT FROM v_requests THEN
        RAISE EXCEPTION 'append batch: the arrays of aggregate types, aggregate ids, expected versions, command ids and event counts differ in length'
            USING ERRCODE = 'AC001';
    END IF;
    IF array_position(p_aggregate_types, NULL) IS NOT NULL
       OR array_position(p_aggregate_ids, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'append batch: request % has no aggregate type or id',
                coalesce(array_position(p_aggregate_types, NULL), array_position(p_aggregate_ids, NULL)) - 1
            USING ERRCODE = 'AC001';
    END IF;
    IF EXISTS (SELECT FROM unnest(p_event_counts) AS c(n) WHERE c.n IS NULL OR c.n < 1 OR c.n > 10000) THEN
        RAISE EXCEPTION 'event list: a request of the batch has no events or more than 10000; an append takes 1 to 10000'
            USING ERRCODE = 'AC001';
    END IF;
    IF (SELECT sum(c.n) FROM unnest(p_event_counts) AS c(n)) IS DISTINCT FROM v_events::bigint
       OR cardinality(p_event_types) IS DISTINCT FROM v_events
       OR cardinality(p_schema_versions) IS DISTINCT FROM v_events
       OR cardinality(p_data) IS DISTINCT FROM v_events
       OR cardinality(p_metadata) IS DISTINCT FROM v_events THEN
        RAISE EXCEPTION 'event list: the event counts and the arrays of ids, types, schema versions, payloads and metadata differ in length'
            USING ERRCODE = 'AC001';
    END IF;
    IF EXISTS (SELECT FROM unnest(p_expected) AS e(v) WHERE e.v < 0) THEN
        RAISE EXCEPTION 'expected version: a request expects a version below 0; it is NULL (any), 0 (no stream) or a version'
            USING ERRCODE = 'AC001';
    END IF;
    PERFORM event_store.require_documents('payload of event', p_data);
    PERFORM event_store.require_documents('metadata of event', p_metadata);

    -- Step 1: every lock, before anything is read or written.
    FOR v_key IN
        SELECT DISTINCT event_store.stream_lock_key(p_tenant, s.aggregate_type, s.aggregate_id)
          FROM unnest(p_aggregate_types, p_aggregate_ids) AS s(aggregate_type, aggregate_id)
         ORDER BY 1
    LOOP
        PERFORM pg_advisory_xact_lock(v_key);
    END LOOP;

    -- Step 2: what is stored, read after every lock is held.
    SELECT array_agg(r.stream ORDER BY r.ord), array_agg(r.command ORDER BY r.ord)
      INTO v_stream_of, v_command_of
      FROM (SELECT u.ord,
                   dense_rank() OVER (ORDER BY u.aggregate_type, u.aggregate_id)::integer AS stream,
                   dense_rank() OVER (ORDER BY u.command_id)::integer AS command
              FROM unnest(p_aggregate_types, p_aggregate_ids, p_command_ids)
                   WITH ORDINALITY AS u(aggregate_type, aggregate_id, command_id, ord)) r;
    SELECT array_agg(coalesce(v.sequence, 0) ORDER BY s.stream), max(v.transaction_id)
      INTO v_version, v_newest
      FROM (SELECT DISTINCT u.aggregate_type, u.aggregate_id,
                   dense_rank() OVER (ORDER BY u.aggregate_type, u.aggregate_id)::integer AS stream
              FROM unnest(p_aggregate_types, p_aggregate_ids) AS u(aggregate_type, aggregate_id)) s
      LEFT JOIN LATERAL (
            SELECT e.sequence, e.transaction_id FROM event_store.events e
             WHERE e.tenant_id = p_tenant AND e.aggregate_type = s.aggregate_type
               AND e.aggregate_id = s.aggregate_id
             ORDER BY e.sequence DESC
             LIMIT 1) v ON true;
    SELECT coalesce(array_agg(c.command_id), '{}') INTO v_recorded
      FROM event_store.commands c
     WHERE c.tenant_id = p_tenant AND c.command_id = ANY (p_command_ids);

    IF pg_current_xact_id_if_assigned() < v_newest THEN
        RAISE EXCEPTION 'this transaction wrote before the last event of the stream was appended; append in a transaction of its own, or as its first write'
            USING ERRCODE = 'serialization_failure';
    END IF;

    -- Step 3: each request decided in order.
    v_outcome := array_fill(NULL::text, ARRAY[v_requests]);
    v_first := array_fill(NULL::bigint, ARRAY[v_requests]);
    v_last := array_fill(NULL::bigint, ARRAY[v_requests]);
    v_recorded_by := array_fill(0, ARRAY[v_requests]);
    v_sequence := array_fill(NULL::bigint, ARRAY[v_events]);
    FOR i IN 1 .. v_requests LOOP
        IF p_command_ids[i] IS NOT NULL
           AND (p_command_ids[i] = ANY (v_recorded) OR v_recorded_by[v_command_of[i]] > 0) THEN
            v_outcome[i] := 'duplicate';
        ELSIF p_expected[i] IS NOT NULL AND p_expected[i] <> v_version[v_stream_of[i]] THEN
            v_outcome[i] := 'conflict';
            v_first[i] := v_version[v_stream_of[i]];
        ELSE
            v_outcome[i] := 'appended';
            v_first[i] := v_version[v_stream_of[i]] + 1;
            v_last[i] := v_version[v_stream_of[i]] + p_event_counts[i];
            v_version[v_stream_of[i]] := v_last[i];
            v_appended := v_appended + 1;
            IF p_command_ids[i] IS NOT NULL THEN
                v_recorded_by[v_command_of[i]] := i;
                v_commands := v_commands + 1;
            END IF;
            FOR k IN 1 .. p_event_counts[i] LOOP
                v_sequence[v_event + k] := v_first[i] + k - 1;
            END LOOP;
        END IF;
        v_event := v_event + p_event_counts[i];
    END LOOP;

    -- Step 4: the writes. As in event_store.append, only a writer that bypassed the lock
    -- can have taken these sequence numbers (events_stream_sequence_key fails the call).
    IF v_appended > 0 THEN
        WITH inserted AS (
            INSERT INTO event_store.events
                (event_id, tenant_id, aggregate_type, aggregate_id, sequence,
                 event_type, schema_version, data, metadata)
            SELECT u.event_id, p_tenant, p_aggregate_types[u.request], p_aggregate_ids[u.request],
                   u.sequence, u.event_type, u.schema_version, u.data, u.metadata
              FROM unnest(p_event_ids, p_event_types, p_schema_versions, p_data, p_metadata, v_sequence,
                          (SELECT array_agg(r.ord ORDER BY r.ord, g.k)
                             FROM unnest(p_event_counts) WITH ORDINALITY AS r(n, ord)
                            CROSS JOIN LATERAL generate_series(1, r.n) AS g(k)))
                   WITH ORDINALITY AS u(event_id, event_type, schema_version, data, metadata, sequence, request, ord)
             WHERE u.sequence IS NOT NULL
             ORDER BY u.ord
            RETURNING aggregate_type, aggregate_id, sequence, position
        )
        SELECT array_agg(i.position ORDER BY r.ord) INTO v_position
          FROM unnest(p_aggregate_types, p_aggregate_ids, v_last) WITH ORDINALITY AS r(aggregate_type, aggregate_id, last, ord)
          LEFT JOIN inserted i
            ON i.aggregate_type = r.aggregate_type AND i.aggregate_id = r.aggregate_id AND i.sequence = r.last;
        v_transaction := pg_current_xact_id()::text;
    END IF;
    IF v_commands > 0 THEN
        INSERT INTO event_store.commands
            (tenant_id, command_id, aggregate_type, aggregate_id, first_sequence,
             last_sequence, last_transaction_id, last_position)
        SELECT p_tenant, r.command_id, r.aggregate_type, r.aggregate_id, r.first, r.last,
               pg_current_xact_id(), r.position
          FROM unnest(p_command_ids, p_aggregate_types, p_aggregate_ids, v_first, v_last, v_position, v_outcome)
               AS r(command_id, aggregate_type, aggregate_id, first, last, position, outcome)
         WHERE r.outcome = 'appended' AND r.command_id IS NOT NULL;
    END IF;

    FOR i IN 1 .. v_requests LOOP
        outcome := v_outcome[i];
        stream_version := NULL;
        recorded_aggregate_type := NULL;
        recorded_aggregate_id := NULL;
        first_sequence := NULL;
        last_sequence := NULL;
        last_transaction_id := NULL;
        last_position := NULL;
        recorded_events := NULL;
        IF outcome = 'appended' THEN
            stream_version := v_last[i];
            first_sequence := v_first[i];
            last_sequence := v_last[i];
            last_transaction_id := v_transaction;
            last_position := v_position[i];
        ELSIF outcome = 'conflict' THEN
            stream_version := v_first[i];
        ELSE
            -- Recorded before the batch, or by an earlier request of it (this
            -- transaction's rows are visible to it).
            SELECT c.aggregate_type, c.aggregate_id, c.first_sequence, c.last_sequence,
                   c.last_transaction_id::text, c.last_position,
                   event_store.command_events(c.tenant_id, c.aggregate_type, c.aggregate_id,
                                              c.first_sequence, c.last_sequence)
              INTO recorded_aggregate_type, recorded_aggregate_id, first_sequence,
                   last_sequence, last_transaction_id, last_position, recorded_events
              FROM event_store.commands c
             WHERE c.tenant_id = p_tenant AND c.command_id = p_command_ids[i];
        END IF;
        RETURN NEXT;
    END LOOP;
END;
$$;

REVOKE ALL ON FUNCTION event_store.append_batch(text, text[], text[], bigint[], uuid[], integer[], uuid[], text[], integer[], jsonb[], jsonb[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION event_store.append_batch(text, text[], text[], bigint[], uuid[], integer[], uuid[], text[], integer[], jsonb[], jsonb[]) TO acci_app;
