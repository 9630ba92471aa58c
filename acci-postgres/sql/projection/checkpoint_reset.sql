-- A checkpoint at the start of the log, at version $2, with nothing counted.
INSERT INTO projections.checkpoints (name, version) VALUES ($1, $2)
ON CONFLICT (name) DO UPDATE
   SET version = EXCLUDED.version, transaction_id = '0', position = 0,
       events_applied = 0, events_parked = 0, events_skipped = 0,
       last_event_at = NULL, last_error = NULL, failing_since = NULL, failing_attempts = 0,
       updated_at = clock_timestamp()
