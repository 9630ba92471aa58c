-- The stored snapshot of one stream, if any.
--
-- Runs with its owner's rights (SECURITY DEFINER, a search path of pg_catalog only,
-- every name qualified). It serves only the session's tenant (event_store.require_tenant,
-- SQLSTATE 'AC002'), and its query names p_tenant.
CREATE OR REPLACE FUNCTION snapshots.load(p_tenant text, p_aggregate_type text, p_aggregate_id text)
RETURNS TABLE (version bigint, state_version bigint, state jsonb, taken_at timestamptz)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
BEGIN
    PERFORM event_store.require_tenant(p_tenant);
    RETURN QUERY
        SELECT s.version, s.state_version, s.state, s.taken_at
          FROM snapshots.aggregate_snapshots s
         WHERE s.tenant_id = p_tenant AND s.aggregate_type = p_aggregate_type AND s.aggregate_id = p_aggregate_id;
END;
$$;

REVOKE ALL ON FUNCTION snapshots.load(text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION snapshots.load(text, text, text) TO acci_app;
