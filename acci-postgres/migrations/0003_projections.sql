-- Projection runners: their checkpoints, the events they parked, and the schema their
-- read models live in.

CREATE SCHEMA IF NOT EXISTS projections;
CREATE SCHEMA IF NOT EXISTS read_models;
-- A rebuild fills a new table here while readers keep reading the live one; the swap
-- moves the old table to read_models_retired (and drops it) and the new one in.
CREATE SCHEMA IF NOT EXISTS read_models_rebuild;
CREATE SCHEMA IF NOT EXISTS read_models_retired;

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

-- Runners read every tenant's events and own their read-model tables.
GRANT USAGE, CREATE ON SCHEMA projections, read_models, read_models_rebuild, read_models_retired TO acci_all_tenants;
GRANT SELECT, INSERT, UPDATE, DELETE ON projections.checkpoints, projections.dead_letters TO acci_all_tenants;
-- Applications read the read models (runners grant SELECT on each table they create), and
-- the checkpoints and dead letters, to wait for their writes and to watch the runners.
GRANT USAGE ON SCHEMA read_models, projections TO acci_app;
GRANT SELECT ON projections.checkpoints, projections.dead_letters TO acci_app;
