-- Binds the transaction to the stream's tenant and loads, in one statement (see
-- append.sql).
SELECT l.state_version, l.sequence, l.event_id, l.event_type, l.schema_version, l.data, l.taken_at
  FROM pg_catalog.set_config('acci.tenant_id', $1, true) AS t(tenant)
 CROSS JOIN LATERAL event_store.load_aggregate(t.tenant, $2, $3, $4) AS l
