-- Binds the transaction to the stream's tenant and reads its version, in one statement
-- (see append.sql).
SELECT event_store.stream_version(t.tenant, $2, $3)
  FROM pg_catalog.set_config('acci.tenant_id', $1, true) AS t(tenant)
