//! The query side: the errors a query answers with, query handlers, and reading read
//! models by key, by page and by indexed column.

use async_trait::async_trait;
use serde_json::Value;

use crate::error::ValidationError;
use crate::projection::Projection;

/// Why a query has no answer.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The [`QueryAuthorizer`](crate::authorization::QueryAuthorizer) refused the query
    /// before anything was read; the refusal was handed to the audit sink.
    #[error(transparent)]
    Unauthorized(Box<crate::authorization::Denied>),
    /// The query itself is invalid (a bad page size, a column without an index).
    #[error("invalid query: {0}")]
    Validation(#[from] ValidationError),
    /// What was asked for does not exist.
    #[error("{what} not found")]
    NotFound {
        /// What was looked for: `user_view row "u-1"`.
        what: String,
    },
    /// The projection cannot answer yet: not caught up in time, or being rebuilt.
    #[error("projection `{projection}` cannot answer: {reason}")]
    Projection {
        /// The projection.
        projection: String,
        /// Why.
        reason: String,
    },
    /// Reading the read model failed. `retryable` says whether asking again may work.
    #[error("reading the read model failed{}: {message}", if *retryable { " (retryable)" } else { "" })]
    ReadModel {
        /// What failed.
        message: String,
        /// Whether the same query may succeed later.
        retryable: bool,
    },
}

/// Answers queries of type `Q`.
///
/// ```
/// # use acci_core::query::{QueryError, QueryHandler};
/// struct CountUsers;
/// struct UserCounter { users: Vec<String> }
///
/// #[async_trait::async_trait]
/// impl QueryHandler<CountUsers> for UserCounter {
///     type Output = usize;
///     async fn handle(&self, _: CountUsers) -> Result<usize, QueryError> {
///         Ok(self.users.len())
///     }
/// }
/// ```
#[async_trait]
pub trait QueryHandler<Q: Send + 'static>: Send + Sync {
    /// The answer.
    type Output: Send;

    /// Answers `query`.
    async fn handle(&self, query: Q) -> Result<Self::Output, QueryError>;
}

/// Reads the rows of read models: what the finders `#[projection]` generates call.
#[async_trait]
pub trait ReadModels: Send + Sync {
    /// The row with `key`, if there is one.
    async fn get<P: Projection>(&self, key: &P::Key) -> Result<Option<P>, QueryError>;

    /// Up to `limit` rows in key order, after `after` (from the start with `None`).
    async fn page<P: Projection>(
        &self,
        after: Option<&P::Key>,
        limit: usize,
    ) -> Result<Vec<P>, QueryError>;

    /// Up to `limit` rows whose indexed `column` equals `value`, in key order.
    async fn find_by<P: Projection>(
        &self,
        column: &str,
        value: &Value,
        limit: usize,
    ) -> Result<Vec<P>, QueryError>;

    /// The row with `key`, or [`QueryError::NotFound`].
    async fn require<P: Projection>(&self, key: &P::Key) -> Result<P, QueryError> {
        self.get::<P>(key)
            .await?
            .ok_or_else(|| QueryError::NotFound {
                what: format!("`{}` row {key:?}", P::NAME),
            })
    }
}

/// The most rows one query returns.
pub const MAX_PAGE: usize = 10_000;

/// Checks a page size: 1 to [`MAX_PAGE`].
pub fn validate_limit(limit: usize) -> Result<(), QueryError> {
    if limit == 0 || limit > MAX_PAGE {
        return Err(ValidationError::new(
            "page size",
            format!("is {limit}; it must be between 1 and {MAX_PAGE}"),
        )
        .into());
    }
    Ok(())
}
