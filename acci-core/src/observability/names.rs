//! Every metric, label and span name ACCI emits, in one place: the code records under
//! these, `docs/operations.md` describes them, and a test checks that both agree.

/// How long a command took, from the authorizer to its answer, in seconds. Labels:
/// [`AGGREGATE_TYPE`], [`COMMAND`], [`OUTCOME`] (one of [`CommandOutcomeLabel`]).
///
/// [`CommandOutcomeLabel`]: super::CommandOutcomeLabel
pub const COMMAND_DURATION_SECONDS: &str = "acci_command_duration_seconds";
/// Attempts of a command after the first, each after a concurrency conflict. Labels:
/// [`AGGREGATE_TYPE`], [`COMMAND`].
pub const COMMAND_RETRIES_TOTAL: &str = "acci_command_retries_total";
/// Appends refused because the stream had moved past the version decided on. Label:
/// [`AGGREGATE_TYPE`].
pub const CONCURRENCY_CONFLICTS_TOTAL: &str = "acci_concurrency_conflicts_total";
/// How long one append took, conflicts included, in seconds. Label: [`AGGREGATE_TYPE`].
pub const APPEND_DURATION_SECONDS: &str = "acci_append_duration_seconds";
/// Events stored by appends of the command path. Label: [`AGGREGATE_TYPE`].
pub const APPENDED_EVENTS_TOTAL: &str = "acci_appended_events_total";
/// How many appends one database call of the PostgreSQL store's append path carried: 1
/// for an append that ran alone, more for a group commit's batch. No labels.
pub const APPEND_BATCH_SIZE: &str = "acci_append_batch_size";
/// Commands that found their aggregate in the aggregate cache. Label: [`AGGREGATE_TYPE`].
pub const AGGREGATE_CACHE_HITS_TOTAL: &str = "acci_aggregate_cache_hits_total";
/// Commands that had to load their aggregate although a cache is on. Label:
/// [`AGGREGATE_TYPE`].
pub const AGGREGATE_CACHE_MISSES_TOTAL: &str = "acci_aggregate_cache_misses_total";
/// Read-model rows a read-model cache answered from its store (`acci-redis`), a cached
/// absence included. Label: [`READ_MODEL`].
pub const READ_CACHE_HITS_TOTAL: &str = "acci_read_cache_hits_total";
/// Read-model reads a cache passed on to the read models behind it, having no usable
/// entry. Label: [`READ_MODEL`].
pub const READ_CACHE_MISSES_TOTAL: &str = "acci_read_cache_misses_total";
/// Cache operations that failed or timed out; the query was answered without the cache,
/// or the invalidation left the entries to their time to live. Labels: [`READ_MODEL`]
/// (the projection, for an invalidation), [`CACHE_OPERATION`].
pub const READ_CACHE_ERRORS_TOTAL: &str = "acci_read_cache_errors_total";
/// The size of each snapshot written, in bytes of JSON. Label: [`AGGREGATE_TYPE`].
pub const SNAPSHOT_SIZE_BYTES: &str = "acci_snapshot_size_bytes";
/// How long a read-model query took, in seconds. Labels: [`READ_MODEL`], [`QUERY`],
/// [`OUTCOME`] (one of [`QueryOutcomeLabel`]).
///
/// [`QueryOutcomeLabel`]: super::QueryOutcomeLabel
pub const QUERY_DURATION_SECONDS: &str = "acci_query_duration_seconds";
/// Events a projection applied to its read model. Label: [`PROJECTION`].
pub const PROJECTION_EVENTS_TOTAL: &str = "acci_projection_events_total";
/// Events a projection parked in its dead letters. Label: [`PROJECTION`].
pub const PROJECTION_DEAD_LETTERS_TOTAL: &str = "acci_projection_dead_letters_total";
/// Events a projection selects that are committed after its checkpoint, counted against
/// the log's head, not the readable horizon. Label: [`PROJECTION`].
pub const PROJECTION_LAG_EVENTS: &str = "acci_projection_lag_events";
/// The age of the oldest committed event a projection selects and has not applied, in
/// seconds; 0 when it has applied everything. Label: [`PROJECTION`].
pub const PROJECTION_LAG_SECONDS: &str = "acci_projection_lag_seconds";
/// Events committed above the readable horizon: how far the horizon trails the log's
/// head. No labels.
pub const LOG_HORIZON_LAG_EVENTS: &str = "acci_log_horizon_lag_events";
/// The age of the oldest transaction holding the horizon, in seconds; 0 when none. No
/// labels.
pub const LOG_HORIZON_OLDEST_TRANSACTION_AGE_SECONDS: &str =
    "acci_log_horizon_oldest_transaction_age_seconds";

/// Messages a relay handed to its broker, repeats after a failure included. Label:
/// [`RELAY`].
pub const RELAY_PUBLISHED_TOTAL: &str = "acci_relay_published_total";
/// Messages the broker confirmed, which the relay's checkpoint moved over. Label:
/// [`RELAY`].
pub const RELAY_CONFIRMED_TOTAL: &str = "acci_relay_confirmed_total";
/// Times a relay published again from its first unconfirmed message, after a lost
/// connection, a negative acknowledgement or a confirmation that timed out. Label:
/// [`RELAY`].
pub const RELAY_RETRIES_TOTAL: &str = "acci_relay_retries_total";
/// Events a relay parked in its dead letters because the broker refused them. Label:
/// [`RELAY`].
pub const RELAY_PARKED_TOTAL: &str = "acci_relay_parked_total";
/// Messages a relay published whose confirmation it still waits for. Label: [`RELAY`].
pub const RELAY_IN_FLIGHT: &str = "acci_relay_in_flight";

/// Every metric name above, in the order `docs/operations.md` lists them.
pub const METRICS: &[&str] = &[
    COMMAND_DURATION_SECONDS,
    COMMAND_RETRIES_TOTAL,
    CONCURRENCY_CONFLICTS_TOTAL,
    APPEND_DURATION_SECONDS,
    APPENDED_EVENTS_TOTAL,
    APPEND_BATCH_SIZE,
    AGGREGATE_CACHE_HITS_TOTAL,
    AGGREGATE_CACHE_MISSES_TOTAL,
    READ_CACHE_HITS_TOTAL,
    READ_CACHE_MISSES_TOTAL,
    READ_CACHE_ERRORS_TOTAL,
    SNAPSHOT_SIZE_BYTES,
    QUERY_DURATION_SECONDS,
    PROJECTION_EVENTS_TOTAL,
    PROJECTION_DEAD_LETTERS_TOTAL,
    PROJECTION_LAG_EVENTS,
    PROJECTION_LAG_SECONDS,
    LOG_HORIZON_LAG_EVENTS,
    LOG_HORIZON_OLDEST_TRANSACTION_AGE_SECONDS,
    RELAY_PUBLISHED_TOTAL,
    RELAY_CONFIRMED_TOTAL,
    RELAY_RETRIES_TOTAL,
    RELAY_PARKED_TOTAL,
    RELAY_IN_FLIGHT,
];

/// Label: the aggregate's [`TYPE`](crate::Aggregate::TYPE).
pub const AGGREGATE_TYPE: &str = "aggregate_type";
/// Label: the command's [`command_name`](crate::Handle::command_name).
pub const COMMAND: &str = "command";
/// Label: how a command or a query ended.
pub const OUTCOME: &str = "outcome";
/// Label: the read model's [`NAME`](crate::Projection::NAME).
pub const READ_MODEL: &str = "read_model";
/// Label: the kind of query: `get`, `page` or `find_by`; `cached_get` for a `get` put to a
/// read-model cache (a miss is also the `get` of the read models behind it).
pub const QUERY: &str = "query";
/// Label: what a read-model cache was doing when it failed: `lookup`, `fill`,
/// `invalidate` or `connect`.
pub const CACHE_OPERATION: &str = "operation";
/// Label: the projection's name.
pub const PROJECTION: &str = "projection";
/// Label: the relay's name. A relay's lag is recorded in [`PROJECTION_LAG_EVENTS`] and
/// [`PROJECTION_LAG_SECONDS`] under its name as the [`PROJECTION`]: a relay is a
/// projection kind, with the same checkpoint.
pub const RELAY: &str = "relay";
/// Label: the tenant, only when [`TenantLabels`](super::TenantLabels) is on.
pub const TENANT: &str = "tenant";

/// Span: one command, from the authorizer to its answer.
pub const SPAN_COMMAND: &str = "acci.command";
/// Span: loading an aggregate (snapshot and events), inside [`SPAN_COMMAND`].
pub const SPAN_LOAD: &str = "acci.load";
/// Span: one append of a command's events, inside [`SPAN_COMMAND`].
pub const SPAN_APPEND: &str = "acci.append";
/// Span: one batch of a projection runner; linked to the trace contexts of its events,
/// never their child.
pub const SPAN_PROJECTION_BATCH: &str = "acci.projection.batch";
/// Span: one read-model query.
pub const SPAN_QUERY: &str = "acci.query";
/// Span: one turn of a relay publishing events, from its checkpoint to where it caught
/// up or failed.
pub const SPAN_RELAY_PUBLISH: &str = "acci.relay.publish";

/// Every span name above.
pub const SPANS: &[&str] = &[
    SPAN_COMMAND,
    SPAN_LOAD,
    SPAN_APPEND,
    SPAN_PROJECTION_BATCH,
    SPAN_QUERY,
    SPAN_RELAY_PUBLISH,
];
