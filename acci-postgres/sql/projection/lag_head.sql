-- A projection's lag against the log's head, not the readable horizon: the committed
-- events it selects after its checkpoint (up to a limit), and when the oldest of them was
-- recorded. Events above the horizon count: a long transaction that freezes the horizon
-- makes this grow, where a reader of the log would see nothing to do.
--
-- The filter is read_log's: (aggregate type, event type) pairs from two arrays of one
-- length; NULL arrays select every event. Runs in a transaction that set
-- acci.all_tenants (the caller is a projection runner's role).
SELECT count(*) AS events, min(e.recorded_at) AS oldest
  FROM (SELECT ev.recorded_at
          FROM event_store.events ev
         WHERE (ev.transaction_id, ev.position) > ($1::text::xid8, $2)
           AND ($4::text[] IS NULL OR (
               ev.event_type = ANY ($5::text[])
               AND EXISTS (
                   SELECT 1 FROM unnest($4::text[], $5::text[]) AS k(aggregate_type, event_type)
                    WHERE k.event_type = ev.event_type
                      AND (k.aggregate_type IS NULL OR k.aggregate_type = ev.aggregate_type))))
         ORDER BY ev.transaction_id, ev.position
         LIMIT $3) e
