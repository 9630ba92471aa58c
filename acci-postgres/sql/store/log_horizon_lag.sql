-- How far the readable horizon trails the log's head: the committed events at or above
-- the horizon (up to a limit: readers of the log cannot see them yet), and the age in
-- seconds of the oldest transaction holding the horizon (0 when none; as
-- log_horizon_holder.sql, any database of the server counts). Runs in a transaction
-- that set acci.all_tenants.
SELECT (SELECT count(*)
          FROM (SELECT 1
                  FROM event_store.events
                 WHERE transaction_id >= pg_snapshot_xmin(pg_current_snapshot())
                 LIMIT $1) above) AS events,
       COALESCE((SELECT extract(epoch FROM clock_timestamp() - xact_start)::float8
                   FROM pg_stat_activity
                  WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid()
                  ORDER BY age(backend_xid) DESC
                  LIMIT 1), 0) AS oldest_transaction_age
