-- What the command path needs to fold an aggregate, in one round trip: the newest
-- snapshot taken at p_state_version (NULL: none wanted) as a first row whose
-- state_version is set, then the events after it, or every event without one. Only what
-- folding needs comes back (sequence, type, schema version, payload, and the event id
-- for error messages), not the envelope.
--
-- Runs with its owner's rights (SECURITY DEFINER, a search path of pg_catalog only,
-- every name qualified). It serves only the session's tenant (event_store.require_tenant,
-- SQLSTATE 'AC002'), and each of its queries names p_tenant.
CREATE OR REPLACE FUNCTION event_store.load_aggregate(
    p_tenant text, p_aggregate_type text, p_aggregate_id text, p_state_version bigint
) RETURNS TABLE (
    state_version bigint, sequence bigint, event_id uuid, event_type text, schema_version integer,
    data jsonb, taken_at timestamptz
) LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
    v_from bigint := 1;
    v_snapshot record;
BEGIN
    PERFORM event_store.require_tenant(p_tenant);
    IF p_state_version IS NOT NULL THEN
        SELECT s.version, s.state_version, s.state, s.taken_at INTO v_snapshot
          FROM snapshots.aggregate_snapshots s
         WHERE s.tenant_id = p_tenant AND s.aggregate_type = p_aggregate_type
           AND s.aggregate_id = p_aggregate_id AND s.state_version = p_state_version;
        IF FOUND THEN
            v_from := v_snapshot.version + 1;
            RETURN QUERY SELECT v_snapshot.state_version, v_snapshot.version, NULL::uuid, NULL::text,
                                NULL::integer, v_snapshot.state, v_snapshot.taken_at;
        END IF;
    END IF;
    RETURN QUERY
        SELECT NULL::bigint, e.sequence, e.event_id, e.event_type, e.schema_version, e.data,
               NULL::timestamptz
          FROM event_store.events e
         WHERE e.tenant_id = p_tenant
           AND e.aggregate_type = p_aggregate_type
           AND e.aggregate_id = p_aggregate_id
           AND e.sequence >= v_from
         ORDER BY e.sequence;
END;
$$;

REVOKE ALL ON FUNCTION event_store.load_aggregate(text, text, text, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION event_store.load_aggregate(text, text, text, bigint) TO acci_app;
