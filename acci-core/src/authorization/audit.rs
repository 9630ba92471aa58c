//! Audit records of refused requests, and where they go.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Action, Denied};

/// One refused request: the [`Denied`] facts and when it was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditRecord {
    /// When the authorizer refused it.
    pub at: DateTime<Utc>,
    /// What was asked, by whom, in which tenant, and why it was refused.
    #[serde(flatten)]
    pub denied: Denied,
}

/// Where audit records go: a log, a table, a security event stream.
///
/// It is awaited on the path of the refused request, so a slow sink slows only refusals;
/// a sink that cannot deliver a record should report that its own way (it has no error
/// to return: the request is refused either way).
#[async_trait]
pub trait AuditSink: Send + Sync {
    /// Takes one record.
    async fn record(&self, record: AuditRecord);
}

/// The default [`AuditSink`]: a `tracing` event at level `WARN` and target
/// `acci::audit`, with the record's facts as fields: `at`, `tenant`, `user_id`,
/// `correlation_id`, `action` (`command` or `query`), `aggregate_type`, `command`,
/// `aggregate_id`, `command_id` for a command, `read_model` and `query` for a query, and
/// `reason`. A field that is not known is left out.
#[derive(Debug, Clone, Copy, Default)]
pub struct TracingAuditSink;

#[async_trait]
impl AuditSink for TracingAuditSink {
    async fn record(&self, record: AuditRecord) {
        use tracing::field::display;

        let denied = &record.denied;
        let at = display(record.at.to_rfc3339());
        let tenant = denied.tenant.as_ref().map(display);
        let user_id = denied.user_id.as_deref();
        let correlation_id = denied.correlation_id.map(display);
        let reason = denied.reason.as_str();
        match &denied.action {
            Action::Command {
                aggregate_type,
                command,
                aggregate_id,
                command_id,
            } => tracing::warn!(
                target: "acci::audit",
                at,
                tenant,
                user_id,
                correlation_id,
                action = "command",
                aggregate_type,
                command = command.as_ref(),
                aggregate_id = aggregate_id.as_str(),
                command_id = command_id.map(display),
                reason,
                "access denied"
            ),
            Action::Query { read_model, query } => tracing::warn!(
                target: "acci::audit",
                at,
                tenant,
                user_id,
                correlation_id,
                action = "query",
                read_model,
                query = display(query),
                reason,
                "access denied"
            ),
        }
    }
}

/// Hands the record of `denied`, stamped now, to `sink`.
pub(super) async fn report(sink: &dyn AuditSink, denied: &Denied) {
    let record = AuditRecord {
        at: Utc::now(),
        denied: denied.clone(),
    };
    sink.record(record).await;
}
