-- What the command path needs to fold an aggregate, in one round trip and one plain
-- statement: the newest snapshot taken at $4 (NULL: none wanted) as a first row whose
-- state_version is set, then the events after it, or every event without one. Only what
-- folding needs comes back (sequence, type, schema version, payload, and the event id
-- for error messages), not the envelope.
--
-- The rows stream: PostgreSQL sends each one as the index scan finds it. (A PL/pgSQL
-- RETURN QUERY, or any function in FROM, would first collect the whole result in a
-- tuplestore; a top-level ORDER BY over the union would sort it whole.) Expected plan:
-- Nested Loop over Result (set_config), then the snapshot lookup, then an Append of the
-- snapshot row and an Index Scan on events_stream_sequence_key; no Sort, Materialize or
-- Function Scan (postgres_lean_load.rs checks it with EXPLAIN).
--
-- Why the tenant is bound before any row is read: t is the only source of the tenant,
-- and every read below names t.tenant (the result of set_config, so $1) through LATERAL.
-- Each read is a subquery PostgreSQL keeps as written (LIMIT, ORDER BY: it never
-- flattens those into a join it could reorder), so it runs as the inner side of a
-- nested loop whose outer side is t, with t.tenant as its parameter: a nested loop
-- starts its inner side only once it holds an outer row, so set_config has run before
-- the row-level security policies (tenant_rows: current_setting('acci.tenant_id'))
-- filter any row. Row-level security applies to acci_app; the explicit
-- tenant_id = t.tenant keeps tenants apart for a role it does not apply to as well (the
-- tables' owner, or a reader whose session set acci.all_tenants).
--
-- Why the events are read in index order, never collected and sorted: the stream and
-- both bounds of the events' range reach the events as parameters of the nested loop
-- (from t and s), not as values the planner sees, so it plans for a range of any stream,
-- which it estimates at a row or two and reads by the index, in order. With a long
-- stream's values in view, or a bound on one side only, it may choose a bitmap scan
-- and a sort instead, and a sort holds every row before it sends the first. (The upper
-- bound, the largest bigint, excludes nothing.)
--
-- Why the rows come in order without a top-level ORDER BY: the UNION ALL is run by one
-- Append node, which returns its branches one after the other in the order written,
-- the snapshot row first; and never in parallel, because set_config is PARALLEL UNSAFE,
-- so PostgreSQL plans no parallel query for this statement (no Parallel Append). The
-- events branch is ordered by its own ORDER BY, which the index on (tenant, type, id,
-- sequence) serves. The Rust side checks the order as the rows arrive all the same.
SELECT l.state_version, l.sequence, l.event_id, l.event_type, l.schema_version, l.data, l.taken_at
  FROM (SELECT pg_catalog.set_config('acci.tenant_id', $1, true) AS tenant,
               $2::text AS aggregate_type, $3::text AS aggregate_id,
               9223372036854775807::bigint AS last) AS t
 -- Exactly one row: the wanted snapshot's columns, or NULLs; `first` is the sequence the
 -- events start at. Computed here, not in the events' WHERE: there, the planner would
 -- take the expression for one that may leak what it reads (it is not a plain
 -- parameter), check it only on rows row-level security passed, and not bound the index
 -- scan with it.
 CROSS JOIN LATERAL (
        SELECT coalesce(s.version, 0) + 1 AS first, s.version, s.state_version, s.state,
               s.taken_at
          FROM (SELECT) AS one
          LEFT JOIN snapshots.aggregate_snapshots s
            ON s.tenant_id = t.tenant AND s.aggregate_type = t.aggregate_type
           AND s.aggregate_id = t.aggregate_id
           AND s.state_version = $4
         LIMIT 1
       ) AS s
 CROSS JOIN LATERAL (
        SELECT s.state_version, s.version AS sequence, NULL::uuid AS event_id,
               NULL::text AS event_type, NULL::integer AS schema_version, s.state AS data,
               s.taken_at
         WHERE s.version IS NOT NULL
        UNION ALL
        (SELECT NULL, e.sequence, e.event_id, e.event_type, e.schema_version, e.data, NULL
           FROM event_store.events e
          WHERE e.tenant_id = t.tenant AND e.aggregate_type = t.aggregate_type
            AND e.aggregate_id = t.aggregate_id
            AND e.sequence BETWEEN s.first AND t.last
          ORDER BY e.sequence)
       ) AS l
