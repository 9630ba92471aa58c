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
--
-- Runs with the caller's rights: whether the caller may read every tenant is a question
-- about the caller, and the row-level security policies admit only the rows of the
-- session's tenant. It changes no setting. A tenant other than the session's is refused
-- (event_store.require_tenant, SQLSTATE 'AC002'); the query names the tenant as well, so
-- that it reads the tenant's index. p_tenant NULL reads every tenant: that needs
-- membership in acci_all_tenants (SQLSTATE 42501 otherwise) and acci.all_tenants set to
-- 'on' by the caller (SQLSTATE 'AC002' otherwise).
--
-- The filter selects events by (aggregate type, event type), pair by pair from two arrays
-- of one length: two aggregates may both store an "Opened". A NULL aggregate type selects
-- the event type from every aggregate type; NULL arrays select every event.
CREATE OR REPLACE FUNCTION event_store.read_log(
    p_tenant text, p_after_transaction xid8, p_after_position bigint, p_limit integer,
    p_aggregate_types text[], p_event_types text[]
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
        IF current_setting('acci.all_tenants', true) IS DISTINCT FROM 'on' THEN
            RAISE EXCEPTION 'this session is not bound to every tenant; set acci.all_tenants to on to read them all'
                USING ERRCODE = 'AC002',
                      DETAIL = jsonb_build_object('bound', nullif(current_setting('acci.tenant_id', true), ''),
                                                  'asked', NULL)::text,
                      HINT = 'SELECT set_config(''acci.all_tenants'', ''on'', true)';
        END IF;
        RETURN QUERY
            SELECT h.horizon::text, e.position, e.transaction_id::text, e.event_id, e.tenant_id,
                   e.aggregate_type, e.aggregate_id, e.sequence, e.event_type, e.schema_version,
                   e.data, e.metadata, e.recorded_at
              FROM (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS horizon) h
              LEFT JOIN LATERAL (
                  SELECT * FROM event_store.events ev
                   WHERE (ev.transaction_id, ev.position) > (p_after_transaction, p_after_position)
                     AND ev.transaction_id < h.horizon
                     AND (p_event_types IS NULL OR (
                         ev.event_type = ANY (p_event_types)
                         AND EXISTS (
                             SELECT 1 FROM unnest(p_aggregate_types, p_event_types) AS k(aggregate_type, event_type)
                              WHERE k.event_type = ev.event_type
                                AND (k.aggregate_type IS NULL OR k.aggregate_type = ev.aggregate_type))))
                   ORDER BY ev.transaction_id, ev.position
                   LIMIT p_limit
              ) e ON true
             ORDER BY e.transaction_id, e.position;
    ELSE
        -- The same query on the tenant's index.
        PERFORM event_store.require_tenant(p_tenant);
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
                     AND (p_event_types IS NULL OR (
                         ev.event_type = ANY (p_event_types)
                         AND EXISTS (
                             SELECT 1 FROM unnest(p_aggregate_types, p_event_types) AS k(aggregate_type, event_type)
                              WHERE k.event_type = ev.event_type
                                AND (k.aggregate_type IS NULL OR k.aggregate_type = ev.aggregate_type))))
                   ORDER BY ev.transaction_id, ev.position
                   LIMIT p_limit
              ) e ON true
             ORDER BY e.transaction_id, e.position;
    END IF;
END;
$$;

REVOKE ALL ON FUNCTION event_store.read_log(text, xid8, bigint, integer, text[], text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION event_store.read_log(text, xid8, bigint, integer, text[], text[]) TO acci_app;
