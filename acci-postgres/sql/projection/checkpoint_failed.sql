-- One more turn of the runner failed with error $2: since when they fail (kept from the
-- first) and how many did.
UPDATE projections.checkpoints
   SET last_error = $2, failing_since = coalesce(failing_since, clock_timestamp()),
       failing_attempts = failing_attempts + 1, updated_at = clock_timestamp()
 WHERE name = $1
