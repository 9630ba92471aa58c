//! The query side: who is asking, what a [`QueryAuthorizer`] sees, and the
//! [`QueryGuard`] a [`ReadModels`](crate::query::ReadModels) implementation asks it
//! through.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use serde::Serialize;
use uuid::Uuid;

use super::{Action, AuditSink, Decision, Denied, TracingAuditSink};
use crate::ids::TenantId;
use crate::projection::Projection;
use crate::query::QueryError;

/// Decides whether a query may read a read model. Asked by a
/// [`ReadModels`](crate::query::ReadModels) implementation before it reads; see
/// [the module](crate::authorization).
///
/// A closure `Fn(&QueryRequest<'_>) -> Decision` is one.
#[async_trait]
pub trait QueryAuthorizer: Send + Sync {
    /// Allows or denies `request`.
    async fn authorize(&self, request: &QueryRequest<'_>) -> Decision;
}

#[async_trait]
impl<F> QueryAuthorizer for F
where
    F: Fn(&QueryRequest<'_>) -> Decision + Send + Sync,
{
    async fn authorize(&self, request: &QueryRequest<'_>) -> Decision {
        self(request)
    }
}

/// Who is asking a query: the tenant they act in, the user, and the correlation id of
/// the request. Read models are bound to one with `for_caller`; unbound, they ask as an
/// anonymous caller with no tenant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller {
    /// The tenant the caller acts in.
    pub tenant: Option<TenantId>,
    /// The user, if known.
    pub user_id: Option<String>,
    /// The correlation id of the request, if known.
    pub correlation_id: Option<Uuid>,
}

impl Caller {
    /// A caller acting in `tenant`, with no user yet.
    pub fn new(tenant: TenantId) -> Self {
        Self {
            tenant: Some(tenant),
            ..Self::default()
        }
    }

    /// An anonymous caller: no tenant, no user.
    pub fn anonymous() -> Self {
        Self::default()
    }

    /// Sets the user.
    pub fn with_user_id(mut self, user: impl Into<String>) -> Self {
        self.user_id = Some(user.into());
        self
    }

    /// Sets the correlation id.
    pub fn with_correlation_id(mut self, id: Uuid) -> Self {
        self.correlation_id = Some(id);
        self
    }
}

/// The kind of read a query makes, as [`ReadModels`](crate::query::ReadModels) names
/// them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum QueryKind {
    /// One row by key ([`get`](crate::query::ReadModels::get), and `require`).
    Get,
    /// A page of rows in key order ([`page`](crate::query::ReadModels::page)).
    Page,
    /// Rows by an indexed column ([`find_by`](crate::query::ReadModels::find_by)).
    FindBy {
        /// The column.
        column: String,
    },
}

impl fmt::Display for QueryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueryKind::Get => f.write_str("get"),
            QueryKind::Page => f.write_str("page"),
            QueryKind::FindBy { column } => write!(f, "find_by({column})"),
        }
    }
}

/// A query as an authorizer sees it, before anything is read.
#[derive(Debug, Clone, Copy)]
pub struct QueryRequest<'a> {
    /// The read model's [`NAME`](crate::Projection::NAME).
    pub read_model: &'static str,
    /// What kind of read it is.
    pub query: &'a QueryKind,
    /// Who is asking.
    pub caller: &'a Caller,
}

impl<'a> QueryRequest<'a> {
    /// The tenant the caller acts in.
    pub fn tenant(&self) -> Option<&'a TenantId> {
        self.caller.tenant.as_ref()
    }

    /// The user who asks.
    pub fn user_id(&self) -> Option<&'a str> {
        self.caller.user_id.as_deref()
    }
}

/// The authorization step of the query side, held by each
/// [`ReadModels`](crate::query::ReadModels) implementation: an authorizer (none: every
/// query is allowed), the audit sink for denials, and the [`Caller`] the read models are
/// bound to. Cheap to clone.
///
/// An implementation calls [`check`](Self::check) first in every query method, before
/// any I/O, and offers `with_authorizer`, `with_audit` and `for_caller` built on the
/// methods of the same names here.
#[derive(Clone)]
pub struct QueryGuard {
    authorizer: Option<Arc<dyn QueryAuthorizer>>,
    audit: Arc<dyn AuditSink>,
    caller: Caller,
}

impl Default for QueryGuard {
    fn default() -> Self {
        Self {
            authorizer: None,
            audit: Arc::new(TracingAuditSink),
            caller: Caller::anonymous(),
        }
    }
}

impl fmt::Debug for QueryGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueryGuard")
            .field("authorizer", &self.authorizer.is_some())
            .field("caller", &self.caller)
            .finish_non_exhaustive()
    }
}

impl QueryGuard {
    /// Allows every query, and reports denials (there are none) with `tracing`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks `authorizer` about every query.
    pub fn with_authorizer(mut self, authorizer: Arc<dyn QueryAuthorizer>) -> Self {
        self.authorizer = Some(authorizer);
        self
    }

    /// Hands the audit records of denials to `audit` instead of `tracing`.
    pub fn with_audit(mut self, audit: Arc<dyn AuditSink>) -> Self {
        self.audit = audit;
        self
    }

    /// The same guard, asking on behalf of `caller`.
    pub fn for_caller(&self, caller: Caller) -> Self {
        Self {
            caller,
            ..self.clone()
        }
    }

    /// The caller queries are asked on behalf of.
    pub fn caller(&self) -> &Caller {
        &self.caller
    }

    /// Asks the authorizer whether the bound caller may make `query` of `P`. A denial is
    /// recorded with the audit sink and answered as [`QueryError::Unauthorized`].
    pub async fn check<P: Projection>(&self, query: QueryKind) -> Result<(), QueryError> {
        let Some(authorizer) = &self.authorizer else {
            return Ok(());
        };
        let request = QueryRequest {
            read_model: P::NAME,
            query: &query,
            caller: &self.caller,
        };
        let Decision::Deny { reason } = authorizer.authorize(&request).await else {
            return Ok(());
        };
        let denied = Denied {
            action: Action::Query {
                read_model: P::NAME,
                query,
            },
            tenant: self.caller.tenant.clone(),
            user_id: self.caller.user_id.clone(),
            correlation_id: self.caller.correlation_id,
            reason,
        };
        super::audit::report(&*self.audit, &denied).await;
        Err(QueryError::Unauthorized(Box::new(denied)))
    }
}
