-- The events a projection selects after its checkpoint, up to a limit.
SELECT count(*)
  FROM event_store.read_log(NULL, $1::text::xid8, $2, $3, $4, $5)
 WHERE event_id IS NOT NULL
