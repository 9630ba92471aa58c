//! Access control: who may run a command or read a read model, decided before anything
//! is read, and an audit record of every refusal.
//!
//! Two questions, two traits. A [`CommandAuthorizer`] is asked by the
//! [`Repository`](crate::Repository) about each command before the command id is looked
//! up and before the aggregate is loaded: it sees the aggregate type, the command's name
//! and value, the tenant, the aggregate id, the command id and the command's metadata (the
//! user and the correlation id). A [`QueryAuthorizer`] is asked by a
//! [`ReadModels`](crate::query::ReadModels) implementation about each query before it
//! reads: it sees the read model, the kind of query and the [`Caller`] the read models
//! were bound to. Both answer a [`Decision`].
//!
//! A denial stops the request with nothing read or written:
//! [`CommandError::Unauthorized`](crate::CommandError::Unauthorized) or
//! [`QueryError::Unauthorized`](crate::query::QueryError::Unauthorized), carrying the
//! [`Denied`] facts. The same facts, with the time, go to an [`AuditSink`] as an
//! [`AuditRecord`]; the default sink, [`TracingAuditSink`], emits a `tracing` event at
//! target `acci::audit`.
//!
//! Without an authorizer everything is allowed, and nothing is added to the path. An
//! authorizer is async, so one that asks a policy service or a database may do so; that
//! call is its own business, and one that cannot reach its source of truth should deny.

mod audit;
mod command;
mod query;

use std::fmt;

use serde::Serialize;
use uuid::Uuid;

use crate::ids::{AggregateId, CommandId, TenantId};

pub use audit::{AuditRecord, AuditSink, TracingAuditSink};
pub use command::{CommandAuthorizer, CommandRequest};
pub(crate) use command::{CommandGuard, short_type_name};
pub use query::{Caller, QueryAuthorizer, QueryGuard, QueryKind, QueryRequest};

/// An authorizer's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "a decision does nothing until it is acted on"]
pub enum Decision {
    /// Go ahead.
    Allow,
    /// Refuse, saying why. The reason reaches the caller's error and the audit record, so
    /// it should say what rule refused, not echo secrets.
    Deny {
        /// Why the request was refused.
        reason: String,
    },
}

impl Decision {
    /// A denial for `reason`.
    pub fn deny(reason: impl Into<String>) -> Self {
        Decision::Deny {
            reason: reason.into(),
        }
    }

    /// Whether it allows the request.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allow)
    }
}

/// What a refused request asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    /// A command for one aggregate.
    Command {
        /// The aggregate's [`TYPE`](crate::Aggregate::TYPE).
        aggregate_type: &'static str,
        /// The command's [`name`](crate::Handle::command_name).
        command: std::borrow::Cow<'static, str>,
        /// The aggregate instance it was for.
        aggregate_id: AggregateId,
        /// Its command id, if it had one.
        command_id: Option<CommandId>,
    },
    /// A query of one read model.
    Query {
        /// The read model's [`NAME`](crate::Projection::NAME).
        read_model: &'static str,
        /// What kind of read it was.
        query: QueryKind,
    },
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Command {
                aggregate_type,
                command,
                aggregate_id,
                ..
            } => write!(
                f,
                "command `{command}` on `{aggregate_type}` {aggregate_id:?}"
            ),
            Action::Query { read_model, query } => {
                write!(f, "query `{query}` of read model `{read_model}`")
            }
        }
    }
}

/// A request an authorizer refused: what was asked, by whom, in which tenant, and why.
/// Nothing was read or written for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
pub struct Denied {
    /// What was asked for.
    pub action: Action,
    /// The tenant it was asked in; `None` for a query by a caller bound to no tenant.
    pub tenant: Option<TenantId>,
    /// The user who asked, if known.
    pub user_id: Option<String>,
    /// The correlation id of the business transaction, if known.
    pub correlation_id: Option<Uuid>,
    /// The authorizer's reason.
    pub reason: String,
}

impl fmt::Display for Denied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} denied", self.action)?;
        match &self.user_id {
            Some(user) => write!(f, " for user {user:?}")?,
            None => f.write_str(" for an anonymous caller")?,
        }
        if let Some(tenant) = &self.tenant {
            write!(f, " of tenant {tenant:?}")?;
        }
        write!(f, ": {}", self.reason)
    }
}
