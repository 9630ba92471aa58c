-- The tenant binding every store function checks before it reads or writes: a call for
-- p_tenant runs only in a session bound to that tenant, by acci.tenant_id (the setting
-- the row-level security policies key on too). A call for another tenant, or in a
-- session bound to none, is refused with SQLSTATE 'AC002' and no row; its DETAIL is a
-- JSON object {"bound": …, "asked": …} (null for none) that the Rust side turns into
-- StoreError::WrongTenant. Reading every tenant (event_store.read_log with NULL) is
-- checked by read_log itself.
--
-- Reads the session's setting and changes nothing; runs with the caller's rights, every
-- name qualified. No function of the store calls set_config: the caller binds the
-- tenant (PgEventStore does it in the statement that calls the function).
CREATE OR REPLACE FUNCTION event_store.require_tenant(p_tenant text)
RETURNS void LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_bound text := nullif(pg_catalog.current_setting('acci.tenant_id', true), '');
BEGIN
    IF p_tenant IS NULL OR v_bound IS NULL OR p_tenant OPERATOR(pg_catalog.<>) v_bound THEN
        RAISE EXCEPTION 'this session is bound to tenant %, not to tenant %',
                coalesce(pg_catalog.quote_literal(v_bound), '(none)'),
                coalesce(pg_catalog.quote_literal(p_tenant), '(none)')
            USING ERRCODE = 'AC002',
                  DETAIL = pg_catalog.jsonb_build_object('bound', v_bound, 'asked', p_tenant)::text,
                  HINT = 'bind the tenant first: SELECT set_config(''acci.tenant_id'', <tenant>, true)';
    END IF;
END;
$$;

REVOKE ALL ON FUNCTION event_store.require_tenant(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION event_store.require_tenant(text) TO acci_app;
