-- The events of one stream from $4 to $5 (both included), whole envelopes, in one plain
-- statement that binds the tenant first. Every committed event is visible here at once:
-- the global log's horizon does not apply to stream loads.
--
-- The rows stream as the index scan on events_stream_sequence_key finds them (no
-- function to collect them first), and the tenant is bound before any is read: see
-- load_aggregate.sql, whose events branch this is, for why both hold, and for why the
-- stream and the bounds come through t as parameters of the nested loop.
SELECT e.position AS global_position, e.transaction_id::text AS transaction_id, e.event_id,
       e.sequence, e.event_type, e.schema_version, e.data, e.metadata, e.recorded_at
  FROM (SELECT pg_catalog.set_config('acci.tenant_id', $1, true) AS tenant,
               $2::text AS aggregate_type, $3::text AS aggregate_id,
               $4::bigint AS first, $5::bigint AS last) AS t
 CROSS JOIN LATERAL (
        SELECT e.* FROM event_store.events e
         WHERE e.tenant_id = t.tenant AND e.aggregate_type = t.aggregate_type
           AND e.aggregate_id = t.aggregate_id
           AND e.sequence BETWEEN t.first AND t.last
         ORDER BY e.sequence
       ) AS e
