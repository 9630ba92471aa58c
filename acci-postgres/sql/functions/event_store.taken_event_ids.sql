-- Which of these event ids are taken. Row-level security makes PostgreSQL leave the key
-- out of a unique violation's message, and the taken id may belong to another tenant,
-- so this function runs with its owner's rights (SECURITY DEFINER, a search path of
-- pg_catalog only); it reveals nothing but the ids the caller itself sent.
CREATE OR REPLACE FUNCTION event_store.taken_event_ids(p_event_ids uuid[])
RETURNS SETOF uuid LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
    SELECT e.event_id FROM event_store.events e WHERE e.event_id = ANY (p_event_ids);
$$;

REVOKE ALL ON FUNCTION event_store.taken_event_ids(uuid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION event_store.taken_event_ids(uuid[]) TO acci_app;
