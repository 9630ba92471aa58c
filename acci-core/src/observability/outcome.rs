//! The values of the `outcome` label.

use crate::error::CommandError;
use crate::query::QueryError;

/// How a command ended, as the `outcome` label of
/// [`COMMAND_DURATION_SECONDS`](super::names::COMMAND_DURATION_SECONDS) and the
/// `outcome` field of the `acci.command` span.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommandOutcomeLabel {
    /// Its events were stored (or it decided on none).
    Applied,
    /// Its command id had been applied before: the first outcome was the answer.
    Duplicate,
    /// The aggregate refused it: [`CommandError::Domain`].
    Rejected,
    /// It was invalid: [`CommandError::Validation`].
    Invalid,
    /// The authorizer denied it: [`CommandError::Unauthorized`].
    Unauthorized,
    /// The retries ran out on concurrency conflicts: [`CommandError::Concurrency`].
    Conflict,
    /// Anything else: the store failed, an event did not decode or serialize.
    Error,
}

impl CommandOutcomeLabel {
    /// Every value, in the order `docs/operations.md` lists them.
    pub const ALL: [Self; 7] = [
        Self::Applied,
        Self::Duplicate,
        Self::Rejected,
        Self::Invalid,
        Self::Unauthorized,
        Self::Conflict,
        Self::Error,
    ];

    /// The label value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::Duplicate => "duplicate",
            Self::Rejected => "rejected",
            Self::Invalid => "invalid",
            Self::Unauthorized => "unauthorized",
            Self::Conflict => "conflict",
            Self::Error => "error",
        }
    }

    /// The label of a failed command.
    pub fn of_error<E>(error: &CommandError<E>) -> Self {
        match error {
            CommandError::Unauthorized(_) => Self::Unauthorized,
            CommandError::Validation(_) => Self::Invalid,
            CommandError::Concurrency { .. } => Self::Conflict,
            CommandError::Domain(_) => Self::Rejected,
            CommandError::Decode(_)
            | CommandError::Serialization { .. }
            | CommandError::Persistence(_) => Self::Error,
        }
    }
}

/// How a query ended, as the `outcome` label of
/// [`QUERY_DURATION_SECONDS`](super::names::QUERY_DURATION_SECONDS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueryOutcomeLabel {
    /// It answered (an absent row included).
    Ok,
    /// It was invalid: [`QueryError::Validation`].
    Invalid,
    /// The authorizer denied it: [`QueryError::Unauthorized`].
    Unauthorized,
    /// What it asked for does not exist: [`QueryError::NotFound`].
    NotFound,
    /// The projection could not answer: [`QueryError::Projection`].
    NotReady,
    /// Reading the read model failed: [`QueryError::ReadModel`].
    Error,
}

impl QueryOutcomeLabel {
    /// Every value, in the order `docs/operations.md` lists them.
    pub const ALL: [Self; 6] = [
        Self::Ok,
        Self::Invalid,
        Self::Unauthorized,
        Self::NotFound,
        Self::NotReady,
        Self::Error,
    ];

    /// The label value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Invalid => "invalid",
            Self::Unauthorized => "unauthorized",
            Self::NotFound => "not_found",
            Self::NotReady => "not_ready",
            Self::Error => "error",
        }
    }

    /// The label of a query's result.
    pub fn of<T>(result: &Result<T, QueryError>) -> Self {
        match result {
            Ok(_) => Self::Ok,
            Err(QueryError::Unauthorized(_)) => Self::Unauthorized,
            Err(QueryError::Validation(_)) => Self::Invalid,
            Err(QueryError::NotFound { .. }) => Self::NotFound,
            Err(QueryError::Projection { .. }) => Self::NotReady,
            Err(QueryError::ReadModel { .. }) => Self::Error,
        }
    }
}
