-- What the health check reads of one projection: its checkpoint (NULL columns when it
-- has none), how long since the checkpoint last changed, whether a session of this
-- database holds the projection's active-runner lease (an advisory lock on the 64-bit
-- key $2, which pg_locks shows split in classid and objid), and the lag behind the log's
-- head for the events it selects. Whether batches are failing comes from failing_since
-- and failing_attempts, not last_error: the error's text may quote a tenant's event, and
-- the application role may not read it.
SELECT c.name IS NOT NULL AS has_checkpoint,
       CASE WHEN c.failing_since IS NOT NULL THEN
           format('failing since %s after %s attempts (the error is in the runner''s status)',
                  c.failing_since, c.failing_attempts)
       END AS last_error,
       extract(epoch FROM clock_timestamp() - c.updated_at)::float8 AS idle_seconds,
       extract(epoch FROM clock_timestamp() - c.last_event_at)::float8 AS last_event_age_seconds,
       EXISTS (
           SELECT 1 FROM pg_catalog.pg_locks l
            WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
              AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())
              AND ((l.classid::bigint << 32) | l.objid::bigint) = hashtextextended($2, 0)
       ) AS leased,
       lag.lag_events,
       extract(epoch FROM clock_timestamp() - lag.oldest_waiting)::float8 AS oldest_waiting_seconds
  FROM (SELECT 1) one
  LEFT JOIN projections.checkpoints c ON c.name = $1
  CROSS JOIN LATERAL projections.log_lag(coalesce(c.transaction_id, '0'::xid8), coalesce(c.position, 0),
                                         $3, $4, $5) lag
