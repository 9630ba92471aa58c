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

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Metadata, Subscriber};
    use uuid::Uuid;

    use super::*;
    use crate::authorization::QueryKind;
    use crate::ids::{AggregateId, TenantId};

    /// Keeps each event as `target level field=value …`.
    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<String>>>);

    struct Fields(String);

    impl Visit for Fields {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            self.0.push_str(&format!(" {}={value:?}", field.name()));
        }
        fn record_str(&mut self, field: &Field, value: &str) {
            self.0.push_str(&format!(" {}={value}", field.name()));
        }
    }

    impl Subscriber for Capture {
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, _: &Attributes<'_>) -> Id {
            Id::from_u64(1)
        }
        fn record(&self, _: &Id, _: &Record<'_>) {}
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, event: &Event<'_>) {
            let meta = event.metadata();
            let mut fields = Fields(format!("{} {}", meta.target(), meta.level()));
            event.record(&mut fields);
            self.0.lock().unwrap().push(fields.0);
        }
        fn enter(&self, _: &Id) {}
        fn exit(&self, _: &Id) {}
    }

    fn emitted(record: AuditRecord) -> Vec<String> {
        let capture = Capture::default();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        tracing::subscriber::with_default(capture.clone(), || {
            runtime.block_on(TracingAuditSink.record(record));
        });
        capture.0.lock().unwrap().clone()
    }

    #[test]
    fn the_tracing_sink_emits_the_record_as_fields_at_acci_audit() {
        let at = "2026-01-02T03:04:05Z".parse().unwrap();
        let correlation = Uuid::nil();
        let command = AuditRecord {
            at,
            denied: Denied {
                action: Action::Command {
                    aggregate_type: "Till",
                    command: "Open".into(),
                    aggregate_id: AggregateId::new("till-1").unwrap(),
                    command_id: None,
                },
                tenant: Some(TenantId::new("t1").unwrap()),
                user_id: Some("ada".into()),
                correlation_id: Some(correlation),
                reason: "no".into(),
            },
        };
        assert_eq!(
            emitted(command),
            [format!(
                "acci::audit WARN message=access denied at=2026-01-02T03:04:05+00:00 \
                 tenant=t1 user_id=ada correlation_id={correlation} action=command \
                 aggregate_type=Till command=Open aggregate_id=till-1 reason=no"
            )]
        );
        let query = AuditRecord {
            at,
            denied: Denied {
                action: Action::Query {
                    read_model: "members",
                    query: QueryKind::FindBy {
                        column: "name".into(),
                    },
                },
                tenant: None,
                user_id: None,
                correlation_id: None,
                reason: "no tenant".into(),
            },
        };
        assert_eq!(
            emitted(query),
            [
                "acci::audit WARN message=access denied at=2026-01-02T03:04:05+00:00 \
              action=query read_model=members query=find_by(name) reason=no tenant"
            ]
        );
    }
}
