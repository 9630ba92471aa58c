-- Binds the transaction to the stream's tenant and appends, in one statement: the
-- function's tenant is set_config's result, so the setting is made before the function
-- checks it (event_store.require_tenant). The setting lasts to the end of the statement's
-- transaction.
SELECT a.outcome, a.stream_version, a.recorded_aggregate_type, a.recorded_aggregate_id,
       a.first_sequence, a.last_sequence, a.last_transaction_id, a.last_position,
       a.recorded_events
  FROM pg_catalog.set_config('acci.tenant_id', $1, true) AS t(tenant)
 CROSS JOIN LATERAL event_store.append(t.tenant, $2, $3, $4, $5, $6, $7, $8, $9, $10) AS a
