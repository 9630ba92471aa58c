-- The live checkpoint $1 takes over everything of the rebuild's checkpoint $2.
INSERT INTO projections.checkpoints AS live
       (name, version, transaction_id, position, events_applied, events_parked, events_skipped, last_event_at)
SELECT $1, r.version, r.transaction_id, r.position, r.events_applied, r.events_parked,
       r.events_skipped, r.last_event_at
  FROM projections.checkpoints r
 WHERE r.name = $2
ON CONFLICT (name) DO UPDATE
   SET version = EXCLUDED.version, transaction_id = EXCLUDED.transaction_id,
       position = EXCLUDED.position, events_applied = EXCLUDED.events_applied,
       events_parked = EXCLUDED.events_parked, events_skipped = EXCLUDED.events_skipped,
       last_event_at = EXCLUDED.last_event_at, last_error = NULL, failing_since = NULL,
       failing_attempts = 0, updated_at = clock_timestamp()
