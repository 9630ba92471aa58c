-- Keeps the newest snapshot per stream; one older than the stored one is ignored. A
-- version below 1 or past the stream's version is refused with SQLSTATE 'AC001', which
-- the Rust side maps to StoreError::Validation.
--
-- Runs with its owner's rights (SECURITY DEFINER, a search path of pg_catalog only,
-- every name qualified), and is the only way acci_app writes snapshots. It serves only
-- the session's tenant (event_store.require_tenant, SQLSTATE 'AC002'), and each of its
-- queries names p_tenant. A state nested deeper than 64 levels is refused with 'AC001'
-- (event_store.require_documents); the table's constraints refuse malformed ids.
CREATE OR REPLACE FUNCTION snapshots.save(
    p_tenant text, p_aggregate_type text, p_aggregate_id text, p_version bigint,
    p_state_version bigint, p_state jsonb, p_taken_at timestamptz
) RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_current bigint;
BEGIN
    PERFORM event_store.require_tenant(p_tenant);
    PERFORM event_store.require_documents('snapshot state', ARRAY[p_state]);
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

REVOKE ALL ON FUNCTION snapshots.save(text, text, text, bigint, bigint, jsonb, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION snapshots.save(text, text, text, bigint, bigint, jsonb, timestamptz) TO acci_app;
