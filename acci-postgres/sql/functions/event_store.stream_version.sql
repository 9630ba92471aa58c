-- The version of one stream: the sequence number of its last event, 0 if it has none.
--
-- Runs with its owner's rights (SECURITY DEFINER, a search path of pg_catalog only,
-- every name qualified). It serves only the session's tenant (event_store.require_tenant,
-- SQLSTATE 'AC002'), and its query names p_tenant.
CREATE OR REPLACE FUNCTION event_store.stream_version(
    p_tenant text, p_aggregate_type text, p_aggregate_id text
) RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM event_store.require_tenant(p_tenant);
    RETURN event_store.current_version(p_tenant, p_aggregate_type, p_aggregate_id);
END;
$$;

REVOKE ALL ON FUNCTION event_store.stream_version(text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION event_store.stream_version(text, text, text) TO acci_app;
