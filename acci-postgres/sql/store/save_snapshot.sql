-- Binds the transaction to the stream's tenant and saves the snapshot, in one statement
-- (see append.sql).
SELECT snapshots.save(t.tenant, $2, $3, $4, $5, $6, $7)
  FROM pg_catalog.set_config('acci.tenant_id', $1, true) AS t(tenant)
