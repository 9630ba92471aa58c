//! An audit sink that keeps what it is given.

use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;

use crate::authorization::{AuditRecord, AuditSink, Denied};

/// An [`AuditSink`] that keeps every record in memory, in order, so a test can state
/// exactly which refusals were audited.
///
/// ```
/// # use std::sync::Arc;
/// # use acci_core::prelude::*;
/// # #[event] pub struct Opened {}
/// # #[derive(Aggregate, Default)]
/// # #[aggregate(name = "Account", events(Opened))]
/// # pub struct Account {}
/// # impl Apply<Opened> for Account { fn apply(&mut self, _: &Opened) {} }
/// # pub struct Open;
/// # impl Handle<Open> for Account {
/// #     type Error = std::convert::Infallible;
/// #     fn handle(&self, _: &Open) -> Result<Vec<AccountEvent>, Self::Error> { Ok(vec![Opened {}.into()]) }
/// # }
/// use acci_core::authorization::{Action, CommandRequest, Decision, Denied};
/// use acci_core::testing::InMemoryAuditSink;
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
///
/// let audit = Arc::new(InMemoryAuditSink::new());
/// let accounts = Repository::<Account, _>::new(Arc::new(InMemoryEventStore::new()))
///     .with_authorizer(Arc::new(|_: &CommandRequest<'_>| Decision::deny("closed for maintenance")))
///     .with_audit(audit.clone());
/// let tenant = TenantId::new("acme").unwrap();
/// let id = AggregateId::new("acc-1").unwrap();
/// let refused = accounts.execute(Command::new(tenant.clone(), id.clone(), Open)).await;
/// assert!(matches!(refused, Err(CommandError::Unauthorized(_))));
///
/// assert_eq!(audit.denials(), [Denied {
///     action: Action::Command {
///         aggregate_type: "Account",
///         command: "Open".into(),
///         aggregate_id: id,
///         command_id: None,
///     },
///     tenant: Some(tenant),
///     user_id: None,
///     correlation_id: None,
///     reason: "closed for maintenance".into(),
/// }]);
/// # });
/// ```
#[derive(Debug, Default)]
pub struct InMemoryAuditSink {
    records: Mutex<Vec<AuditRecord>>,
}

impl InMemoryAuditSink {
    /// A sink with no record yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The records so far, oldest first.
    pub fn records(&self) -> Vec<AuditRecord> {
        self.lock().clone()
    }

    /// What each record so far says was denied, oldest first, without the times.
    pub fn denials(&self) -> Vec<Denied> {
        self.lock()
            .iter()
            .map(|record| record.denied.clone())
            .collect()
    }

    /// The records so far, oldest first, forgetting them.
    pub fn take_records(&self) -> Vec<AuditRecord> {
        std::mem::take(&mut *self.lock())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<AuditRecord>> {
        self.records.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl AuditSink for InMemoryAuditSink {
    async fn record(&self, record: AuditRecord) {
        self.lock().push(record);
    }
}
