//! The names of the headers every published event carries, in one place: the encoder
//! writes them, the decoder reads them, `docs/integration.md` lists them.
//!
//! All are lowercase. Values are text; a tenant, an aggregate id or a user id is
//! percent-escaped (`%`, whitespace and control characters as `%XX`) because a header
//! value cannot hold a line break.

/// The stored event type name.
pub const EVENT_TYPE: &str = "acci-event-type";
/// The schema version the payload is written at, a decimal number.
pub const SCHEMA_VERSION: &str = "acci-schema-version";
/// The tenant (escaped).
pub const TENANT: &str = "acci-tenant";
/// The stream's aggregate type.
pub const AGGREGATE_TYPE: &str = "acci-aggregate-type";
/// The stream's aggregate id (escaped).
pub const AGGREGATE_ID: &str = "acci-aggregate-id";
/// The event's place in its stream, from 1.
pub const SEQUENCE: &str = "acci-sequence";
/// The event's place in the global log: `<transaction>:<position>`, as
/// [`LogPosition`](crate::LogPosition) displays it.
pub const LOG_POSITION: &str = "acci-log-position";
/// When the store recorded the event, RFC 3339 with microseconds.
pub const RECORDED_AT: &str = "acci-recorded-at";
/// The correlation id, a UUID; absent when the event has none.
pub const CORRELATION_ID: &str = "acci-correlation-id";
/// The causation id, a UUID; absent when the event has none.
pub const CAUSATION_ID: &str = "acci-causation-id";
/// The user id (escaped); absent when the event has none.
pub const USER_ID: &str = "acci-user-id";
/// The free-form metadata entries but the trace context, as one JSON object; absent
/// when there are none.
pub const METADATA: &str = "acci-metadata";
// The W3C trace context goes out under the standard names, which are also the
// metadata entries it is stored in.
pub use crate::observability::{TRACEPARENT, TRACESTATE};
/// The payload's media type: always [`JSON`].
pub const CONTENT_TYPE: &str = "content-type";

/// The payload's media type.
pub const JSON: &str = "application/json";

/// Every header name above.
pub const ALL: &[&str] = &[
    EVENT_TYPE,
    SCHEMA_VERSION,
    TENANT,
    AGGREGATE_TYPE,
    AGGREGATE_ID,
    SEQUENCE,
    LOG_POSITION,
    RECORDED_AT,
    CORRELATION_ID,
    CAUSATION_ID,
    USER_ID,
    METADATA,
    TRACEPARENT,
    TRACESTATE,
    CONTENT_TYPE,
];
