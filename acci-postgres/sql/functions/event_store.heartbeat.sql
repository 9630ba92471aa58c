-- Records that `p_instance` could write, and when: the health check's proof that the
-- store takes writes (a standby, a read-only transaction or a full disk fails here).
-- Returns the time written.
--
-- Runs with its owner's rights (SECURITY DEFINER, a search path of pg_catalog only,
-- every name qualified), and is the only way acci_app writes event_store.heartbeats. It
-- touches no tenant's data.
CREATE OR REPLACE FUNCTION event_store.heartbeat(p_instance text)
RETURNS timestamptz LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_at timestamptz := clock_timestamp();
BEGIN
    INSERT INTO event_store.heartbeats AS h (instance, beat_at)
    VALUES (p_instance, v_at)
    ON CONFLICT (instance) DO UPDATE SET beat_at = excluded.beat_at;
    RETURN v_at;
END;
$$;

REVOKE ALL ON FUNCTION event_store.heartbeat(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION event_store.heartbeat(text) TO acci_app, acci_all_tenants;
