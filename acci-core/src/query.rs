//! The query side: the errors a query answers with, query handlers, and reading read
//! models by key, by page and by indexed column.

use async_trait::async_trait;
use serde_json::Value;

use crate::error::ValidationError;
use crate::ids::TenantId;
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
///
/// Every method takes the tenant whose rows it reads: `Some(tenant)` for a tenant-scoped
/// read model (the default), `None` for a [`Scope::Global`](crate::projection::Scope)
/// one; anything else is [`QueryError::Validation`] ([`check_tenant`]). A tenant never
/// sees another tenant's rows, even with the same key.
#[async_trait]
pub trait ReadModels: Send + Sync {
    /// The row of `tenant` with `key`, if there is one.
    async fn get<P: Projection>(
        &self,
        tenant: Option<&TenantId>,
        key: &P::Key,
    ) -> Result<Option<P>, QueryError>;

    /// Up to `limit` rows of `tenant` in key order, after `after` (from the start with
    /// `None`).
    async fn page<P: Projection>(
        &self,
        tenant: Option<&TenantId>,
        after: Option<&P::Key>,
        limit: usize,
    ) -> Result<Vec<P>, QueryError>;

    /// Up to `limit` rows of `tenant` whose indexed `column` equals `value`, in key order.
    async fn find_by<P: Projection>(
        &self,
        tenant: Option<&TenantId>,
        column: &str,
        value: &Value,
        limit: usize,
    ) -> Result<Vec<P>, QueryError>;

    /// The row of `tenant` with `key`, or [`QueryError::NotFound`].
    async fn require<P: Projection>(
        &self,
        tenant: Option<&TenantId>,
        key: &P::Key,
    ) -> Result<P, QueryError> {
        self.get::<P>(tenant, key)
            .await?
            .ok_or_else(|| QueryError::NotFound {
                what: format!("`{}` row {key:?}", P::NAME),
            })
    }
}

/// Read models that ask a [`QueryGuard`](crate::authorization::QueryGuard) before they
/// read, and show it: a layer in front of them that answers some queries itself (a
/// cache) asks the same guard first, so its answers are authorized exactly as theirs.
pub trait GuardedReadModels: ReadModels + Clone {
    /// The guard every query is put to, bound to the caller these read models ask for.
    fn guard(&self) -> &crate::authorization::QueryGuard;

    /// The same read models, asking on behalf of `caller`.
    fn for_caller(&self, caller: crate::authorization::Caller) -> Self;
}

/// Checks that a query of `P` names a tenant exactly when `P` is tenant-scoped: a
/// tenant-scoped read model is never read without one (that would be every tenant's
/// rows), and a global one never with one (its rows are no tenant's; a caller passing
/// one believes otherwise).
pub fn check_tenant<P: Projection>(tenant: Option<&TenantId>) -> Result<(), QueryError> {
    match (P::TABLE.is_tenant_scoped(), tenant) {
        (true, Some(_)) | (false, None) => Ok(()),
        (true, None) => Err(ValidationError::new(
            format!("tenant of a query of `{}`", P::NAME),
            "is missing; the read model is tenant-scoped, so every query names its tenant",
        )
        .into()),
        (false, Some(_)) => Err(ValidationError::new(
            format!("tenant of a query of `{}`", P::NAME),
            "is given, but the read model is global (`#[projection(global)]`): its rows belong to no tenant; query it with `None`",
        )
        .into()),
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
