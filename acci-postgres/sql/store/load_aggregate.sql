SELECT state_version, sequence, event_id, event_type, schema_version, data, taken_at
  FROM event_store.load_aggregate($1, $2, $3, $4)
