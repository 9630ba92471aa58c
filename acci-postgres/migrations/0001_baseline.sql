-- The schema of the event store and of the projection runners: roles, schemas, tables,
-- indexes, row-level security and the rights on tables and schemas.
--
-- No functions here: each of the store's SQL functions lives in a file of its own under
-- acci-postgres/sql/functions/, with its own rights, and migrate() re-applies it whenever
-- its text changes.
--
-- Roles (cluster-wide, created here when missing, never dropped):
--   acci_app          the application's group role: calls the store's functions and
--                     reads one tenant at a time. Log in as a role that is a member of
--                     it and does not bypass row-level security.
--   acci_all_tenants  membership lets a session read every tenant's events and run
--                     projections.

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
CREATE SCHEMA IF NOT EXISTS projections;
CREATE SCHEMA IF NOT EXISTS read_models;
-- A rebuild fills a new table here while readers keep reading the live one; the swap
-- moves the old table to read_models_retired (and drops it) and the new one in.
CREATE SCHEMA IF NOT EXISTS read_models_rebuild;
CREATE SCHEMA IF NOT EXISTS read_models_retired;

-- Row shapes --------------------------------------------------------------------------
--
-- The database refuses what the Rust API refuses, so that no writer, Rust or SQL, stores
-- a row the readers cannot read. The constraints named *_shape below are the SQL twins of
-- acci-core's rules (ids.rs: tenant ids 1 to 256 bytes, aggregate ids 1 to 1024 bytes,
-- type names 1 to 256 bytes, no control characters in tenant ids and type names;
-- metadata.rs: the metadata fields' types). PostgreSQL text and jsonb cannot hold NUL at
-- all. The rules on a whole append (a non-empty batch of equal-length arrays, the
-- expected version, how deep a document nests) are checked by event_store.append and
-- snapshots.save, which every write of the application goes through.

-- Events ------------------------------------------------------------------------------

CREATE TABLE event_store.events (
    -- The event's global number: unique, increasing in insertion order, with gaps.
    -- event_store.append reads the last one it drew from this column's sequence,
    -- event_store.events_position_seq.
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
    CONSTRAINT events_tenant_id_shape CHECK (octet_length(tenant_id) BETWEEN 1 AND 256 AND tenant_id !~ '[\x01-\x1f\x7f-\x9f]'),
    CONSTRAINT events_aggregate_type_shape CHECK (octet_length(aggregate_type) BETWEEN 1 AND 256 AND aggregate_type !~ '[\x01-\x1f\x7f-\x9f]'),
    CONSTRAINT events_aggregate_id_shape CHECK (octet_length(aggregate_id) BETWEEN 1 AND 1024),
    CONSTRAINT events_event_type_shape CHECK (octet_length(event_type) BETWEEN 1 AND 256 AND event_type !~ '[\x01-\x1f\x7f-\x9f]'),
    -- What acci_core::Metadata reads: correlation_id and causation_id are UUIDs in text,
    -- user_id is text, entries is an object; other keys are ignored by readers.
    CONSTRAINT events_metadata_shape CHECK (
        (NOT metadata ? 'correlation_id'
         OR (jsonb_typeof(metadata -> 'correlation_id') = 'string'
             AND metadata ->> 'correlation_id' ~ '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'))
        AND (NOT metadata ? 'causation_id'
         OR (jsonb_typeof(metadata -> 'causation_id') = 'string'
             AND metadata ->> 'causation_id' ~ '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'))
        AND (NOT metadata ? 'user_id' OR jsonb_typeof(metadata -> 'user_id') = 'string')
        AND (NOT metadata ? 'entries' OR jsonb_typeof(metadata -> 'entries') = 'object')),
    CONSTRAINT events_event_id_key UNIQUE (event_id),
    -- Optimistic concurrency: two appends after the same version collide here. Loading a
    -- stream and finding its version use this index too.
    CONSTRAINT events_stream_sequence_key UNIQUE (tenant_id, aggregate_type, aggregate_id, sequence)
);

-- Reading the global log across tenants, and per tenant.
CREATE INDEX events_log_idx ON event_store.events (transaction_id, position);
CREATE INDEX events_tenant_log_idx ON event_store.events (tenant_id, transaction_id, position);

-- One row per applied command id: what it appended, so a repeat answers with it.
CREATE TABLE event_store.commands (
    tenant_id       text        NOT NULL,
    command_id      uuid        NOT NULL,
    aggregate_type  text        NOT NULL,
    aggregate_id    text        NOT NULL,
    first_sequence  bigint      NOT NULL CHECK (first_sequence >= 1),
    last_sequence   bigint      NOT NULL,
    last_transaction_id xid8    NOT NULL,
    last_position   bigint      NOT NULL CHECK (last_position >= 1),
    recorded_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT commands_tenant_id_shape CHECK (octet_length(tenant_id) BETWEEN 1 AND 256 AND tenant_id !~ '[\x01-\x1f\x7f-\x9f]'),
    CONSTRAINT commands_aggregate_type_shape CHECK (octet_length(aggregate_type) BETWEEN 1 AND 256 AND aggregate_type !~ '[\x01-\x1f\x7f-\x9f]'),
    CONSTRAINT commands_aggregate_id_shape CHECK (octet_length(aggregate_id) BETWEEN 1 AND 1024),
    -- A command appended at least one event.
    CONSTRAINT commands_sequences CHECK (last_sequence >= first_sequence),
    PRIMARY KEY (tenant_id, command_id)
);

-- Snapshots ---------------------------------------------------------------------------

CREATE TABLE snapshots.aggregate_snapshots (
    tenant_id       text        NOT NULL,
    aggregate_type  text        NOT NULL,
    aggregate_id    text        NOT NULL,
    -- The stream version the state includes.
    version         bigint      NOT NULL CHECK (version >= 1),
    -- The aggregate's state fingerprint (or explicit snapshot_version) when taken.
    state_version   bigint      NOT NULL CHECK (state_version >= 0),
    state           jsonb       NOT NULL,
    taken_at        timestamptz NOT NULL,
    CONSTRAINT aggregate_snapshots_tenant_id_shape CHECK (octet_length(tenant_id) BETWEEN 1 AND 256 AND tenant_id !~ '[\x01-\x1f\x7f-\x9f]'),
    CONSTRAINT aggregate_snapshots_aggregate_type_shape CHECK (octet_length(aggregate_type) BETWEEN 1 AND 256 AND aggregate_type !~ '[\x01-\x1f\x7f-\x9f]'),
    CONSTRAINT aggregate_snapshots_aggregate_id_shape CHECK (octet_length(aggregate_id) BETWEEN 1 AND 1024),
    PRIMARY KEY (tenant_id, aggregate_type, aggregate_id)
);

-- Projections -------------------------------------------------------------------------

CREATE TABLE projections.checkpoints (
    name             text        PRIMARY KEY,
    -- The read model's version; a different version in the code rebuilds it.
    version          integer     NOT NULL,
    -- Resume token: the log position of the last event applied (or passed over).
    transaction_id   xid8        NOT NULL DEFAULT '0',
    position         bigint      NOT NULL DEFAULT 0,
    events_applied   bigint      NOT NULL DEFAULT 0,
    events_parked    bigint      NOT NULL DEFAULT 0,
    events_skipped   bigint      NOT NULL DEFAULT 0,
    -- When the last applied event was recorded: lag in time.
    last_event_at    timestamptz,
    last_error       text,
    -- Since when turns of the runner fail in a row, and how many did: set by each failed
    -- turn, cleared with last_error by the next batch that commits.
    failing_since    timestamptz,
    failing_attempts integer     NOT NULL DEFAULT 0,
    updated_at       timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE TABLE projections.dead_letters (
    projection       text        NOT NULL,
    event_id         uuid        NOT NULL,
    tenant_id        text        NOT NULL,
    aggregate_type   text        NOT NULL,
    aggregate_id     text        NOT NULL,
    sequence         bigint      NOT NULL,
    transaction_id   xid8        NOT NULL,
    position         bigint      NOT NULL,
    event_type       text        NOT NULL,
    error            text        NOT NULL,
    attempts         integer     NOT NULL,
    parked_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (projection, event_id)
);

-- Health ------------------------------------------------------------------------------

-- One row per service instance that ran a health check: the proof that the store takes
-- writes. Written only through event_store.heartbeat; holds no tenant's data.
CREATE TABLE event_store.heartbeats (
    instance  text        PRIMARY KEY CHECK (length(instance) BETWEEN 1 AND 200),
    beat_at   timestamptz NOT NULL
);

-- Tenant isolation --------------------------------------------------------------------
--
-- Enforced for every role that does not own the tables or bypass row-level security.
-- A session sees the rows of the tenant it set in acci.tenant_id; a member of
-- acci_all_tenants that also set acci.all_tenants to 'on' reads every tenant's events.
-- The store's SECURITY DEFINER functions run as the tables' owner, so these policies do
-- not apply inside them: each first refuses a tenant other than the session's
-- (event_store.require_tenant), and each of its queries names that tenant.

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

-- Projection bookkeeping. Dead letters name the tenant of the parked event: the
-- application sees only its tenant's (their stream ids and error text are that tenant's
-- data); runners (members of acci_all_tenants) park, list and replay every tenant's.
-- Checkpoints belong to no tenant (one per projection): the application may read their
-- positions and counts (to wait for its writes), never last_error, whose text may quote
-- any tenant's event; see the column grant below.
ALTER TABLE projections.dead_letters ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON projections.dead_letters FOR SELECT
    USING (tenant_id = current_setting('acci.tenant_id', true));
CREATE POLICY runners ON projections.dead_letters TO acci_all_tenants
    USING (true) WITH CHECK (true);

-- Read-model tables are created by the runners, each tenant-scoped one with the same two
-- policies (acci-postgres/src/projection/tables.rs): readers see the rows of
-- acci.tenant_id, runners (owners, through acci_all_tenants) all of them.

-- Rights on schemas and tables (each function's rights are in its own file) ----------

-- The application reads its tenant's events, command records and snapshots, and writes
-- none of them directly: event_store.append and snapshots.save are the only writers, so
-- the database assigns every position, transaction id and sequence number.
GRANT USAGE ON SCHEMA event_store, snapshots TO acci_app;
GRANT SELECT ON event_store.events, event_store.commands, snapshots.aggregate_snapshots TO acci_app;

-- Runners read every tenant's events and own their read-model tables.
GRANT USAGE, CREATE ON SCHEMA projections, read_models, read_models_rebuild, read_models_retired TO acci_all_tenants;
GRANT SELECT, INSERT, UPDATE, DELETE ON projections.checkpoints, projections.dead_letters TO acci_all_tenants;
-- Applications read the read models (runners grant SELECT on each table they create), their
-- tenant's dead letters, and the checkpoints without their errors, to wait for their
-- writes and to watch the runners.
GRANT USAGE ON SCHEMA read_models, projections TO acci_app;
GRANT SELECT ON projections.dead_letters TO acci_app;
GRANT SELECT (name, version, transaction_id, position, events_applied, events_parked,
              events_skipped, last_event_at, failing_since, failing_attempts, updated_at)
    ON projections.checkpoints TO acci_app;
