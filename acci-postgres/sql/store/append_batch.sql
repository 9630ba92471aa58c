-- Binds the transaction to the tenant and appends a batch, in one statement (see
-- append.sql): one row per request, in request order, with append.sql's columns.
SELECT a.outcome, a.stream_version, a.recorded_aggregate_type, a.recorded_aggregate_id,
       a.first_sequence, a.last_sequence, a.last_transaction_id, a.last_position,
       a.recorded_events
  FROM pg_catalog.set_config('acci.tenant_id', $1, true) AS t(tenant)
 CROSS JOIN LATERAL event_store.append_batch(t.tenant, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
      WITH ORDINALITY AS a(outcome, stream_version, recorded_aggregate_type, recorded_aggregate_id,
                           first_sequence, last_sequence, last_transaction_id, last_position,
                           recorded_events, request)
 ORDER BY a.request
