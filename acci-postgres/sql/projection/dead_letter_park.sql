INSERT INTO projections.dead_letters
       (projection, event_id, tenant_id, aggregate_type, aggregate_id, sequence, transaction_id,
        position, event_type, error, attempts)
VALUES ($1, $2, $3, $4, $5, $6, $7::text::xid8, $8, $9, $10, $11)
ON CONFLICT (projection, event_id) DO UPDATE
   SET error = EXCLUDED.error, attempts = EXCLUDED.attempts, parked_at = clock_timestamp()
