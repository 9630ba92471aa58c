SELECT outcome, stream_version, recorded_aggregate_type, recorded_aggregate_id, first_sequence,
       last_sequence, last_transaction_id, last_position, recorded_events
  FROM event_store.append($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
