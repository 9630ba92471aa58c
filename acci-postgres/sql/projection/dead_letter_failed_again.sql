UPDATE projections.dead_letters
   SET error = $3, attempts = attempts + 1, parked_at = clock_timestamp()
 WHERE projection = $1 AND event_id = $2
