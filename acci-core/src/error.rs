//! The errors of the command side, as types a caller can match.
//!
//! One enum per layer: [`StoreError`] from an [`EventStore`](crate::EventStore),
//! [`CommandError`] from the [`Repository`](crate::Repository), which wraps the store's
//! errors and adds the aggregate's own domain error and the failure to serialize an event
//! it decided on. [`DecodeError`] says which stored event could not be turned back into
//! its Rust type.

use std::borrow::Cow;
use std::error::Error as StdError;
use std::fmt;

use crate::ids::{EventId, StreamId};
use crate::store::{ExpectedVersion, LogPosition};

/// Input that was rejected before anything was stored. It names what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} {problem}")]
pub struct ValidationError {
    /// What was checked: `"tenant id"`, `"event list"`, a command field…
    pub what: Cow<'static, str>,
    /// What is wrong with it, phrased to follow `what`.
    pub problem: String,
}

impl ValidationError {
    /// A validation error about `what`: `ValidationError::new("amount", "must be positive")`.
    pub fn new(what: impl Into<Cow<'static, str>>, problem: impl Into<String>) -> Self {
        Self {
            what: what.into(),
            problem: problem.into(),
        }
    }
}

/// An append found the stream at another version than the caller expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "concurrency conflict on stream {stream}: expected {expected}, but it is at version {actual}"
)]
pub struct ConcurrencyConflict {
    /// The stream appended to.
    pub stream: StreamId,
    /// The version the caller expected.
    pub expected: ExpectedVersion,
    /// The version the stream was at (0 when it did not exist).
    pub actual: u64,
}

/// Why a stored event could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum DecodeFailure {
    /// No event of the aggregate is stored under this type name.
    #[error("no listed event is stored as `{0}`")]
    UnknownEventType(String),
    /// The stored schema version is newer than this build knows, or older with no upcast.
    #[error("schema version {found} is not readable by this build: {reason}")]
    UnsupportedVersion {
        /// The version found in the store.
        found: u32,
        /// Why it cannot be read (newer than the current version, no upcast, …).
        reason: String,
    },
    /// The payload did not match the event's fields.
    #[error("payload does not match: {0}")]
    Payload(#[source] serde_json::Error),
    /// A JSON-level upcast function failed.
    #[error("upcast failed: {0}")]
    Upcast(String),
}

/// A stored event could not be turned back into its Rust type. Nothing was changed in the
/// store; the message names the event id (when known), type and schema version.
#[derive(Debug, thiserror::Error)]
pub struct DecodeError {
    /// The stored event's id, filled in once the envelope is known.
    pub event_id: Option<EventId>,
    /// The stored event type name.
    pub event_type: String,
    /// The stored schema version.
    pub schema_version: u32,
    /// What went wrong.
    #[source]
    pub failure: DecodeFailure,
}

impl DecodeError {
    /// A decode error for the event stored as `event_type` at `schema_version`.
    pub fn new(event_type: impl Into<String>, schema_version: u32, failure: DecodeFailure) -> Self {
        Self {
            event_id: None,
            event_type: event_type.into(),
            schema_version,
            failure,
        }
    }

    /// The same error, naming the stored event it came from.
    pub fn with_event_id(mut self, event_id: EventId) -> Self {
        self.event_id = Some(event_id);
        self
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("cannot decode event ")?;
        if let Some(id) = &self.event_id {
            write!(f, "{id} ")?;
        }
        write!(
            f,
            "of type `{}` at schema version {}: {}",
            self.event_type, self.schema_version, self.failure
        )
    }
}

/// The errors of an [`EventStore`](crate::EventStore).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The input was rejected before it reached storage.
    #[error("invalid input: {0}")]
    Validation(#[from] ValidationError),
    /// The stream was not at the expected version; nothing was appended.
    #[error(transparent)]
    Conflict(#[from] ConcurrencyConflict),
    /// An event with this id is already stored; nothing was appended.
    #[error("an event with id {0} is already stored")]
    DuplicateEventId(EventId),
    /// A stored event that the store cannot hand out, written past its API (by raw SQL):
    /// its payload or metadata nests deeper than
    /// [`MAX_READ_JSON_DEPTH`](crate::MAX_READ_JSON_DEPTH). Nothing was changed. A log
    /// read returns the events before it and then this error; read after `position`
    /// to pass it.
    #[error("event {event_id} at log position {position} cannot be read: {reason}")]
    Unreadable {
        /// The stored event's id.
        event_id: EventId,
        /// Its place in the global log.
        position: LogPosition,
        /// Why it cannot be read.
        reason: String,
    },
    /// The call named a tenant other than the one the store (or the database session) is
    /// bound to, and was refused before it read or wrote anything: a
    /// [`TenantBound`](crate::TenantBound) store refuses it without I/O, and PostgreSQL's
    /// store functions refuse it in the database (SQLSTATE `AC002`, see
    /// `docs/security.md`). A bug in the caller, never retryable.
    #[error("this store is bound to {}, but the call asked for {}", tenant_text(bound.as_deref(), "no tenant"), tenant_text(asked.as_deref(), "every tenant"))]
    WrongTenant {
        /// The tenant the store or session serves; `None` when it is bound to none.
        bound: Option<String>,
        /// The tenant the call named; `None` for every tenant.
        asked: Option<String>,
    },
    /// The storage backend failed. `retryable` says whether the same call may succeed
    /// later (a lost connection, a restarting server) or will fail again.
    #[error("persistence failed{}: {message}", if *retryable { " (retryable)" } else { "" })]
    Backend {
        /// What failed.
        message: String,
        /// Whether trying again may succeed.
        retryable: bool,
        /// The backend's own error.
        #[source]
        source: Option<Box<dyn StdError + Send + Sync>>,
    },
}

/// A tenant in a [`StoreError::WrongTenant`] message, `none` for `None`.
fn tenant_text(tenant: Option<&str>, none: &str) -> String {
    match tenant {
        Some(tenant) => format!("tenant `{tenant}`"),
        None => none.to_owned(),
    }
}

impl StoreError {
    /// Whether the same call may succeed if tried again.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            StoreError::Backend {
                retryable: true,
                ..
            }
        )
    }
}

/// The errors of running a command through the [`Repository`](crate::Repository).
///
/// `E` is the aggregate's own error type, returned by its `Handle` impl. Nothing is stored
/// when a command fails, whatever the variant; only `Persistence` leaves it open whether
/// the append committed (resend with the same command id to find out).
#[derive(Debug, thiserror::Error)]
pub enum CommandError<E> {
    /// The [`CommandAuthorizer`](crate::authorization::CommandAuthorizer) refused the
    /// command before anything was read; the refusal was handed to the audit sink.
    #[error(transparent)]
    Unauthorized(Box<crate::authorization::Denied>),
    /// The command was rejected by its validation before the aggregate was loaded.
    #[error("invalid command: {0}")]
    Validation(#[from] ValidationError),
    /// The stream kept moving under the command until the retry policy gave up.
    #[error("{conflict} (after {attempts} attempts)")]
    Concurrency {
        /// The last conflict seen, with the expected and actual versions.
        conflict: ConcurrencyConflict,
        /// How many times the command was tried.
        attempts: u32,
    },
    /// The aggregate rejected the command.
    #[error("rejected by the aggregate: {0}")]
    Domain(E),
    /// A stored event could not be decoded.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// An event the aggregate decided on did not serialize into its JSON payload, so
    /// nothing was sent to the store. A bug in the event type (a `Serialize` impl that
    /// fails, a map with non-string keys), not in the store: trying again fails again.
    #[error("event `{event_type}` of aggregate `{aggregate_type}` did not serialize: {source}")]
    Serialization {
        /// The aggregate's [`TYPE`](crate::Aggregate::TYPE).
        aggregate_type: &'static str,
        /// The stored name of the event that failed.
        event_type: &'static str,
        /// What serde reported.
        #[source]
        source: serde_json::Error,
    },
    /// The event store failed.
    #[error(transparent)]
    Persistence(StoreError),
}

impl<E> CommandError<E> {
    /// The domain error, if the aggregate rejected the command.
    pub fn domain(&self) -> Option<&E> {
        match self {
            CommandError::Domain(e) => Some(e),
            _ => None,
        }
    }
}

impl<E> From<StoreError> for CommandError<E> {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Validation(v) => CommandError::Validation(v),
            StoreError::Conflict(conflict) => CommandError::Concurrency {
                conflict,
                attempts: 1,
            },
            other => CommandError::Persistence(other),
        }
    }
}
