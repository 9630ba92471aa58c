-- A parked event, its columns in the order `stored_event` reads them.
SELECT e.position AS global_position, e.transaction_id::text AS transaction_id, e.event_id,
       e.sequence, e.event_type, e.schema_version, e.data, e.metadata, e.recorded_at,
       e.tenant_id, e.aggregate_type, e.aggregate_id
  FROM event_store.events e
 WHERE e.event_id = $1
