-- The oldest transaction on the server that has an id and is still running, other than
-- this session's own.
SELECT pid, datname::text AS database, usename::text AS username, application_name, xact_start, state
  FROM pg_stat_activity
 WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid()
 ORDER BY age(backend_xid) DESC
 LIMIT 1
