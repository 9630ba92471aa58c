-- The last sequence number of a stream, 0 if it has none.
--
-- Runs with the caller's rights, and is not granted to acci_app: its callers are
-- SECURITY DEFINER functions that check the session's tenant first. Written as
-- ORDER BY ... LIMIT 1 rather than max(): under row-level security the planner cannot
-- turn max() into a one-row index probe, and would read the whole stream.
CREATE OR REPLACE FUNCTION event_store.current_version(
    p_tenant text, p_aggregate_type text, p_aggregate_id text
) RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT coalesce((
        SELECT e.sequence FROM event_store.events e
         WHERE e.tenant_id = p_tenant AND e.aggregate_type = p_aggregate_type AND e.aggregate_id = p_aggregate_id
         ORDER BY e.sequence DESC
         LIMIT 1), 0);
$$;

REVOKE ALL ON FUNCTION event_store.current_version(text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION event_store.current_version(text, text, text) FROM acci_app;
