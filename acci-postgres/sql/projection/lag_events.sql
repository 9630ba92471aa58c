-- The events a projection selects after its checkpoint, up to a limit. Binds the
-- transaction to every tenant in the same statement (see acci-postgres/src/store/mod.rs,
-- BIND_ALL_TENANTS): read_log changes no setting.
SELECT count(*)
  FROM pg_catalog.set_config('acci.all_tenants', 'on', true) AS t(switch)
 CROSS JOIN LATERAL event_store.read_log(nullif(t.switch, 'on'), $1::text::xid8, $2, $3, $4, $5) AS l
 WHERE l.event_id IS NOT NULL
