-- Binds the transaction to the stream's tenant and loads its snapshot, in one statement
-- (see append.sql).
SELECT s.version, s.state_version, s.state, s.taken_at
  FROM pg_catalog.set_config('acci.tenant_id', $1, true) AS t(tenant)
 CROSS JOIN LATERAL snapshots.load(t.tenant, $2, $3) AS s
