-- How far the log's head is past a checkpoint, for the events a projection selects:
-- how many committed events (up to p_limit) and when the oldest of them was recorded.
--
-- Measured against the head of the log, not against the horizon the runners read up to:
-- a long transaction anywhere on the server holds the horizon back, and lag measured
-- against it would read zero while events wait. Events of transactions still running
-- are not visible here, so they do not count.
--
-- The filter is read_log's: pairs of (aggregate type, event type); a NULL aggregate type
-- selects the event type from every aggregate type; NULL arrays select every event.
--
-- Runs with its owner's rights (SECURITY DEFINER, a search path of pg_catalog only,
-- every name qualified) so that a health check sees every tenant's events whatever role
-- it runs as; it returns only a count and a time, nothing of any tenant's data.
CREATE OR REPLACE FUNCTION projections.log_lag(
    p_after_transaction xid8, p_after_position bigint, p_limit integer,
    p_aggregate_types text[], p_event_types text[]
) RETURNS TABLE (lag_events bigint, oldest_waiting timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT count(*), min(w.recorded_at)
      FROM (SELECT ev.recorded_at
              FROM event_store.events ev
             WHERE (ev.transaction_id, ev.position) > (p_after_transaction, p_after_position)
               AND (p_event_types IS NULL OR (
                   ev.event_type = ANY (p_event_types)
                   AND EXISTS (
                       SELECT 1 FROM unnest(p_aggregate_types, p_event_types) AS k(aggregate_type, event_type)
                        WHERE k.event_type = ev.event_type
                          AND (k.aggregate_type IS NULL OR k.aggregate_type = ev.aggregate_type))))
             ORDER BY ev.transaction_id, ev.position
             LIMIT p_limit) w;
$$;

REVOKE ALL ON FUNCTION projections.log_lag(xid8, bigint, integer, text[], text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION projections.log_lag(xid8, bigint, integer, text[], text[]) TO acci_app, acci_all_tenants;
