-- The key of a stream's transaction-scoped advisory lock: event_store.append and
-- event_store.append_batch take it before they read the stream, so appends to one stream
-- take turns. Both must compute the same key, so it is computed here only.
--
-- A plain IMMUTABLE SQL expression with every name qualified, so the planner inlines it
-- into its callers (a SET clause or SECURITY DEFINER would stop that and cost a function
-- call per lock). Not granted to acci_app: its callers run with their owner's rights.
CREATE OR REPLACE FUNCTION event_store.stream_lock_key(
    p_tenant text, p_aggregate_type text, p_aggregate_id text
) RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT pg_catalog.hashtextextended(
        p_tenant OPERATOR(pg_catalog.||) pg_catalog.chr(31)
            OPERATOR(pg_catalog.||) p_aggregate_type OPERATOR(pg_catalog.||) pg_catalog.chr(31)
            OPERATOR(pg_catalog.||) p_aggregate_id,
        0);
$$;

REVOKE ALL ON FUNCTION event_store.stream_lock_key(text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION event_store.stream_lock_key(text, text, text) FROM acci_app;
