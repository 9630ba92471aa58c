-- The inbox of consumers of published events: the message ids each consumer processed,
-- recorded in the same transaction as the consumer's own writes, so that a message the
-- broker delivers again (at-least-once delivery) is processed once
-- (acci-postgres/src/subscribe/inbox.rs).
--
-- Message ids are event ids, which belong to one tenant each and are unique across the
-- store; the consumer is a name its program chooses. Neither is another tenant's data,
-- so the table has no tenant column and no row-level security: consumers run as the
-- application role, whatever tenant their messages are of.
CREATE SCHEMA IF NOT EXISTS inbox;

CREATE TABLE inbox.processed (
    consumer     text        NOT NULL CHECK (length(consumer) BETWEEN 1 AND 256),
    message_id   text        NOT NULL CHECK (length(message_id) BETWEEN 1 AND 256),
    processed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (consumer, message_id)
);

-- Pruning by age (ids older than the broker's redelivery horizon) reads this.
CREATE INDEX processed_at ON inbox.processed (consumer, processed_at);

GRANT USAGE ON SCHEMA inbox TO acci_app, acci_all_tenants;
GRANT SELECT, INSERT, DELETE ON inbox.processed TO acci_app, acci_all_tenants;
