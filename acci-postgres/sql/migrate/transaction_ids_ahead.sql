-- Whether the newest stored transaction id is at or past the server's current one.
SELECT coalesce((SELECT transaction_id FROM event_store.events ORDER BY transaction_id DESC LIMIT 1)
                >= pg_current_xact_id(), false)
