-- Parks event $2, which the reader could not read, for projection $1: its envelope comes
-- from the log row itself, read as the owner sees it, never its payload or metadata.
INSERT INTO projections.dead_letters
       (projection, event_id, tenant_id, aggregate_type, aggregate_id, sequence, transaction_id,
        position, event_type, error, attempts)
SELECT $1, e.event_id, e.tenant_id, e.aggregate_type, e.aggregate_id, e.sequence,
       e.transaction_id, e.position, e.event_type, $3, $4
  FROM event_store.events e
 WHERE e.event_id = $2
ON CONFLICT (projection, event_id) DO UPDATE
   SET error = EXCLUDED.error, attempts = EXCLUDED.attempts, parked_at = clock_timestamp()
