-- Moves the checkpoint from ($7, $8) to ($2, $3), only if it is still there.
UPDATE projections.checkpoints
   SET transaction_id = $2::text::xid8, position = $3,
       events_applied = events_applied + $4, events_parked = events_parked + $5,
       events_skipped = events_skipped + $9, last_event_at = coalesce($6, last_event_at),
       last_error = NULL, failing_since = NULL, failing_attempts = 0, updated_at = clock_timestamp()
 WHERE name = $1 AND transaction_id = $7::text::xid8 AND position = $8
