SELECT version, transaction_id::text AS transaction_id, position, events_applied, events_parked,
       events_skipped, last_event_at, last_error, failing_since, failing_attempts
  FROM projections.checkpoints
 WHERE name = $1
