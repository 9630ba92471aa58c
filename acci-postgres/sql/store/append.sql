SELECT outcome, stream_version, first_sequence, last_sequence, last_transaction_id, last_position
  FROM event_store.append($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
