SELECT aggregate_type, aggregate_id, first_sequence, last_sequence, last_transaction_id,
       last_position, events
  FROM event_store.find_command($1, $2)
