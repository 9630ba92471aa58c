-- The events of one stream from p_from to p_to (both included), whole envelopes. Every
-- committed event is visible here at once: the global log's horizon does not apply to
-- stream loads.
--
-- Runs with its owner's rights (SECURITY DEFINER, a search path of pg_catalog only,
-- every name qualified). It serves only the session's tenant (event_store.require_tenant,
-- SQLSTATE 'AC002'), and its query names p_tenant.
CREATE OR REPLACE FUNCTION event_store.load_stream(
    p_tenant text, p_aggregate_type text, p_aggregate_id text, p_from bigint, p_to bigint
) RETURNS TABLE (
    global_position bigint, transaction_id text, event_id uuid, sequence bigint, event_type text,
    schema_version integer, data jsonb, metadata jsonb, recorded_at timestamptz
) LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
BEGIN
    PERFORM event_store.require_tenant(p_tenant);
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

REVOKE ALL ON FUNCTION event_store.load_stream(text, text, text, bigint, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION event_store.load_stream(text, text, text, bigint, bigint) TO acci_app;
