//! The runner's errors: what a caller can match ([`RunnerError`]), why a batch did not
//! commit ([`BatchError`]), and an event's own failure ([`EventFailure`]), kept apart from
//! storage failures so that a database blip is retried, never parked.

use acci_core::{EventId, LogPosition, ProjectionError, StoreError, StoredEvent};

use crate::error::{is_retryable, store_error};

/// Why a runner call failed.
#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    /// The database holds a newer version of the read model than this build: a newer
    /// build runs it, so this one stays out of the way.
    #[error(
        "projection `{projection}` is at version {stored} in the database, newer than this build's {build}; \
         a newer build runs it, so this one stays out of the way"
    )]
    NewerVersion {
        /// The projection.
        projection: &'static str,
        /// Its version in the database.
        stored: u32,
        /// This build's version.
        build: u32,
    },
    /// The checkpoint moved while a batch ran (another runner got there first); the batch
    /// was dropped and nothing of it counted. Running it again is safe.
    #[error(
        "projection `{projection}`: another runner moved the checkpoint; this batch is dropped"
    )]
    CheckpointMoved {
        /// The projection.
        projection: &'static str,
    },
    /// The projection has no checkpoint: [`prepare`](super::Runner::prepare) it first.
    #[error("projection `{projection}` has no checkpoint; prepare it first")]
    NotPrepared {
        /// The projection.
        projection: &'static str,
    },
    /// Under [`FailurePolicy::Stop`](super::FailurePolicy::Stop), an event failed to
    /// project; the runner stopped before it, and it stays unprocessed.
    #[error("projection `{projection}` stopped at event {event_id}: {error}")]
    Stopped {
        /// The projection.
        projection: &'static str,
        /// The event that failed.
        event_id: EventId,
        /// Its log position.
        position: LogPosition,
        /// Why it failed.
        #[source]
        error: EventFailure,
    },
    /// The store failed (see [`StoreError::is_retryable`]).
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl RunnerError {
    /// Whether the same call may succeed if tried again: a transient storage failure, or
    /// a checkpoint another runner moved.
    pub fn is_retryable(&self) -> bool {
        match self {
            RunnerError::CheckpointMoved { .. } => true,
            RunnerError::Store(error) => error.is_retryable(),
            RunnerError::NewerVersion { .. }
            | RunnerError::NotPrepared { .. }
            | RunnerError::Stopped { .. } => false,
        }
    }
}

impl From<RunnerError> for StoreError {
    /// For callers that speak [`StoreError`] only: the store's own error as it was, any
    /// other condition as a backend failure that keeps the runner error as its source.
    fn from(error: RunnerError) -> Self {
        match error {
            RunnerError::Store(error) => error,
            other => StoreError::Backend {
                message: other.to_string(),
                retryable: other.is_retryable(),
                source: Some(Box::new(other)),
            },
        }
    }
}

/// An event's own failure to project: what the failure policy counts, and what a parked
/// event is parked with.
#[derive(Debug, thiserror::Error)]
pub enum EventFailure {
    /// The event did not decode, had no row key, or the projection refused it.
    #[error(transparent)]
    Projection(ProjectionError),
    /// SQL a [`CustomProjection`](super::CustomProjection) ran for the event, or the row
    /// a `#[projection]` wrote for this event alone, failed for the data's sake (SQLSTATE
    /// class `22` or `23`, or `P0001`: a division by zero, a value out of range, a check
    /// constraint, an exception a trigger raised), which trying again will not pass.
    #[error("the projection's SQL failed: {0}")]
    Database(sqlx::Error),
    /// `project`, or a hand-written projection's `handle`, panicked.
    #[error("the projection panicked: {0}")]
    Panicked(String),
    /// The broker refused the event's message for good (no queue takes its subject, it
    /// is too large): a relay parks it.
    #[error("the broker refused the event: {0}")]
    Unpublishable(acci_core::publish::PublishError),
    /// The store could not hand the event out at all
    /// ([`StoreError::Unreadable`]: written past the API by raw SQL, its JSON nests too
    /// deep or its metadata is malformed); no projection can read it.
    #[error("the event cannot be read: {reason}")]
    Unreadable {
        /// Why, as the store said.
        reason: String,
    },
}

/// What a [`CustomProjection`](super::CustomProjection)'s `handle` returns on failure.
/// `?` converts both sources: the runner counts a database error the data caused
/// (SQLSTATE class `22`, `23` or `P0001`) and every [`ProjectionError`] but
/// [`ProjectionError::Storage`] as the event's own failure, under the failure policy, and
/// retries every other database error as a storage failure.
#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    /// A database call failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// The projection refused the event, or could not read it.
    #[error(transparent)]
    Projection(#[from] ProjectionError),
}

/// Why a batch did not commit. Nothing of it was kept either way.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// Not any event's fault: the database or the checkpoint. The runner runs the batch
    /// again (after reconnecting when the error says so) without counting a failure.
    #[error(transparent)]
    Runner(#[from] RunnerError),
    /// Writing the rows of a `#[projection]` batch of several events broke a rule of the
    /// table (SQLSTATE class `22` or `23`), so the failure cannot be pinned on one event
    /// yet: the runner runs the next batches one event at a time, where it can.
    #[error("writing the rows of a batch failed: {0}")]
    Rows(sqlx::Error),
    /// One event failed to project; the runner retries, parks or skips it by its policy.
    #[error("event {event_id} failed to project: {error}")]
    Event {
        /// The event that failed.
        event_id: EventId,
        /// Its log position.
        position: LogPosition,
        /// Why.
        #[source]
        error: EventFailure,
    },
}

impl From<StoreError> for BatchError {
    fn from(error: StoreError) -> Self {
        BatchError::Runner(RunnerError::Store(error))
    }
}

impl BatchError {
    /// The batch error for a hand-written handler's failure on event `event_id`: a
    /// database error the data caused ([`is_data_error`]) is the event's; any other
    /// database error (transient, or one that fails every event alike: a revoked right, a
    /// missing table) is a storage failure, which the runner retries and reports without
    /// parking anything; the handler's own errors are the event's.
    pub(crate) fn from_handler(event: &StoredEvent, error: HandleError, doing: &str) -> Self {
        let (event_id, position) = (event.event_id, event.position);
        match error {
            HandleError::Database(error) if is_retryable(&error) || !is_data_error(&error) => {
                store_error(error, doing).into()
            }
            HandleError::Database(error) => BatchError::Event {
                event_id,
                position,
                error: EventFailure::Database(error),
            },
            HandleError::Projection(ProjectionError::Storage(message)) => StoreError::Backend {
                message: format!("{doing}: {message}"),
                retryable: true,
                source: None,
            }
            .into(),
            HandleError::Projection(error) => BatchError::Event {
                event_id,
                position,
                error: EventFailure::Projection(error),
            },
        }
    }
}

/// Whether `error` is the data's fault, which the same data will cause again, rather than
/// the database's or the code's: SQLSTATE class `22` (data exception: a division by zero,
/// a value out of range), class `23` (integrity constraint violation) or `P0001` (an
/// exception raised on purpose, by a trigger say). A revoked right, a missing table or
/// column, a syntax error fail every event alike and are none of these.
pub(crate) fn is_data_error(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code.starts_with("22") || code.starts_with("23") || code == "P0001")
}
