-- How far the readable horizon trails the log's head: the committed events at or above
-- the horizon (up to a limit: readers of the log cannot see them yet), and the age in
-- seconds of the oldest transaction holding the horizon. That transaction is found as in
-- log_horizon_holder.sql (any database of the server counts); when the caller may not
-- see it (other roles' sessions need pg_read_all_stats), the age of the oldest event
-- above the horizon stands in: the holder began before it, so the age is a lower bound.
-- 0 when neither exists. Runs in a transaction that set acci.all_tenants.
WITH above AS (
    SELECT recorded_at
      FROM event_store.events
     WHERE transaction_id >= pg_snapshot_xmin(pg_current_snapshot())
     LIMIT $1
)
SELECT (SELECT count(*) FROM above) AS events,
       COALESCE(
           (SELECT extract(epoch FROM clock_timestamp() - xact_start)::float8
              FROM pg_stat_activity
             WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid()
               AND xact_start IS NOT NULL
             ORDER BY age(backend_xid) DESC
             LIMIT 1),
           (SELECT extract(epoch FROM clock_timestamp() - min(recorded_at))::float8 FROM above),
           0) AS oldest_transaction_age
