SELECT event_id, event_type, transaction_id::text AS transaction_id, position, error, attempts, parked_at
  FROM projections.dead_letters
 WHERE projection = $1
 ORDER BY transaction_id, position
