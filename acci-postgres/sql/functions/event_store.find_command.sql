-- What a recorded command id appended: its stream, first and last sequence, the log
-- position of its last event, and the events themselves (event_store.command_events),
-- so that a repeated command is answered in this one call. No row when the tenant has
-- no such command.
--
-- Runs with its owner's rights (SECURITY DEFINER, a search path of pg_catalog only,
-- every name qualified). It serves only the session's tenant (event_store.require_tenant,
-- SQLSTATE 'AC002'), and its query names p_tenant.
CREATE OR REPLACE FUNCTION event_store.find_command(p_tenant text, p_command_id uuid)
RETURNS TABLE (
    aggregate_type text, aggregate_id text, first_sequence bigint, last_sequence bigint,
    last_transaction_id text, last_position bigint, events jsonb
) LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
BEGIN
    PERFORM event_store.require_tenant(p_tenant);
    RETURN QUERY
        SELECT c.aggregate_type, c.aggregate_id, c.first_sequence, c.last_sequence,
               c.last_transaction_id::text, c.last_position,
               event_store.command_events(c.tenant_id, c.aggregate_type, c.aggregate_id,
                                          c.first_sequence, c.last_sequence)
          FROM event_store.commands c
         WHERE c.tenant_id = p_tenant AND c.command_id = p_command_id;
END;
$$;

REVOKE ALL ON FUNCTION event_store.find_command(text, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION event_store.find_command(text, uuid) TO acci_app;
