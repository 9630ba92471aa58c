-- The event store: events, the commands recorded with them, and snapshots, with
-- row-level security keyed to the tenant a session sets.
--
-- Roles (cluster-wide, created here when missing, never dropped):
--   acci_app          the application's group role: reads and writes one tenant at a time.
--                     Log in as a role that is a member of it and does not bypass RLS.
--   acci_all_tenants  membership lets a session read every tenant's events (projections).

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'acci_app') THEN
        CREATE ROLE acci_app NOLOGIN NOBYPASSRLS;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL; -- another database's migration created it at the same moment
END $$;

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'acci_all_tenants') THEN
        CREATE ROLE acci_all_tenants NOLOGIN NOBYPASSRLS;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END $$;

CREATE SCHEMA IF NOT EXISTS event_store;
CREATE SCHEMA IF NOT EXISTS snapshots;

CREATE TABLE event_store.events (
    -- The event's global number: unique, increasing in insertion order, with gaps.
    position        bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- The writing transaction. Readers of the global log order by (transaction_id,
    -- position) and stop below the oldest transaction still running.
    transaction_id  xid8        NOT NULL DEFAULT pg_current_xact_id(),
    event_id        uuid        NOT NULL,
    tenant_id       text        NOT NULL,
    aggregate_type  text        NOT NULL,
    aggregate_id    text        NOT NULL,
    -- The event's place in its stream, from 1, without gaps.
    sequence        bigint      NOT NULL CHECK (sequence >= 1),
    event_type      text        NOT NULL,
    schema_version  integer     NOT NULL CHECK (schema_version >= 1),
    data            jsonb       NOT NULL CHECK (jsonb_typeof(data) = 'object'),
    metadata        jsonb       NOT NULL CHECK (jsonb_typeof(metadata) = 'object'),
    recorded_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT events_event_id_key UNIQUE (event_id),
    -- Optimistic concurrency: two appends after the same version collide here. Loading a
    -- stream and finding its version use this index too.
    CONSTRAINT events_stream_sequence_key UNIQUE (tenant_id, aggregate_type, aggregate_id, sequence)
);

-- Reading the global log across tenants, and per tenant.
CREATE INDEX events_log_idx ON event_store.events (transaction_id, position);
CREATE INDEX events_tenant_log_idx ON event_store.events (tenant_id, transaction_id, position);

CREATE TABLE event_store.commands (
    tenant_id       text        NOT NULL,
    command_id      uuid        NOT NULL,
    aggregate_type  text        NOT NULL,
    aggregate_id    text        NOT NULL,
    first_sequence  bigint      NOT NULL,
    last_sequence   bigint      NOT NULL,
    last_transaction_id xid8    NOT NULL,
    last_position   bigint      NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tenant_id, command_id)
);

CREATE TABLE snapshots.aggregate_snapshots (
    tenant_id       text        NOT NULL,
    aggregate_type  text        NOT NULL,
    aggregate_id    text        NOT NULL,
    -- The stream version the state includes.
    version         bigint      NOT NULL CHECK (version >= 1),
    -- The aggregate's state fingerprint (or explicit snapshot_version) when taken.
    state_version   bigint      NOT NULL,
    state           jsonb       NOT NULL,
    taken_at        timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, aggregate_type, aggregate_id)
);

-- Tenant isolation, enforced for every role that does not own the tables or bypass RLS.
ALTER TABLE event_store.events ENABLE ROW LEVEL SECURITY;
ALTER TABLE event_store.commands ENABLE ROW LEVEL SECURITY;
ALTER TABLE snapshots.aggregate_snapshots ENABLE ROW LEVEL SECURITY;

CREATE POLICY tenant_rows ON event_store.events
    USING (tenant_id = current_setting('acci.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('acci.tenant_id', true));
CREATE POLICY all_tenants_read ON event_store.events FOR SELECT
    USING (current_setting('acci.all_tenants', true) = 'on'
           AND pg_has_role(current_user, 'acci_all_tenants', 'MEMBER'));
CREATE POLICY tenant_rows ON event_store.commands
    USING (tenant_id = current_setting('acci.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('acci.tenant_id', true));
CREATE POLICY tenant_rows ON snapshots.aggregate_snapshots
    USING (tenant_id = current_setting('acci.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('acci.tenant_id', true));

GRANT USAGE ON SCHEMA event_store, snapshots TO acci_app;
-- Only the columns the store's functions write: the database assigns position,
-- transaction_id and recorded_at, so no application can place an event behind a reader.
GRANT SELECT ON event_store.events, event_store.commands TO acci_app;
GRANT INSERT (event_id, tenant_id, aggregate_type, aggregate_id, sequence, event_type, schema_version, data, metadata)
    ON event_store.events TO acci_app;
GRANT INSERT ON event_store.commands TO acci_app;
GRANT SELECT, INSERT, UPDATE ON snapshots.aggregate_snapshots TO acci_app;
