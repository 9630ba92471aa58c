-- The events one command stored, as its record carries them so that a repeated command
-- is answered from the record alone: a JSON array of {event_id, sequence, event_type,
-- schema_version, data}, in stream order. Called by event_store.append and
-- event_store.find_command with their owner's rights; not granted to acci_app.
CREATE OR REPLACE FUNCTION event_store.command_events(
    p_tenant text, p_aggregate_type text, p_aggregate_id text, p_first bigint, p_last bigint
) RETURNS jsonb LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(
               jsonb_agg(jsonb_build_object(
                   'event_id', e.event_id, 'sequence', e.sequence, 'event_type', e.event_type,
                   'schema_version', e.schema_version, 'data', e.data) ORDER BY e.sequence),
               '[]'::jsonb)
      FROM event_store.events e
     WHERE e.tenant_id = p_tenant AND e.aggregate_type = p_aggregate_type
       AND e.aggregate_id = p_aggregate_id AND e.sequence BETWEEN p_first AND p_last;
$$;

REVOKE ALL ON FUNCTION event_store.command_events(text, text, text, bigint, bigint) FROM PUBLIC;
