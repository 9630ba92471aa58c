-- Binds the transaction to the tenant and looks the command up, in one statement (see
-- append.sql).
SELECT c.aggregate_type, c.aggregate_id, c.first_sequence, c.last_sequence,
       c.last_transaction_id, c.last_position, c.events
  FROM pg_catalog.set_config('acci.tenant_id', $1, true) AS t(tenant)
 CROSS JOIN LATERAL event_store.find_command(t.tenant, $2) AS c
