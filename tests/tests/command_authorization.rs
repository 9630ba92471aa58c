//! Access control on the command path: the authorizer is asked first, a denial reads and
//! writes nothing, and each denial leaves one exact audit record.

// The domain types below exist for the tests; documenting each would add only noise.
#![allow(missing_docs)]

use std::borrow::Cow;
use std::sync::{Arc, Mutex};

use acci_core::authorization::{Action, CommandAuthorizer, CommandRequest, Decision, Denied};
use acci_core::prelude::*;
use acci_core::testing::{Counting, InMemoryAuditSink};
use async_trait::async_trait;
use chrono::Utc;
use uuid::Uuid;

#[event]
pub struct Opened {}

#[event]
pub struct Moved {
    pub amount: u64,
}

#[derive(Aggregate, Clone, Debug, Default)]
#[aggregate(name = "Till", events(Opened, Moved))]
pub struct Till {
    open: bool,
}

impl Apply<Opened> for Till {
    fn apply(&mut self, _: &Opened) {
        self.open = true;
    }
}

impl Apply<Moved> for Till {
    fn apply(&mut self, _: &Moved) {}
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("the till is not open")]
pub struct NotOpen;

pub struct Open;

/// Named explicitly, so policies and audit records keep the name across renames.
pub struct Move {
    pub amount: u64,
}

impl Handle<Open> for Till {
    type Error = NotOpen;
    fn handle(&self, _: &Open) -> Result<Vec<TillEvent>, NotOpen> {
        Ok(vec![Opened {}.into()])
    }
}

impl Handle<Move> for Till {
    type Error = NotOpen;
    fn command_name() -> Cow<'static, str> {
        Cow::Borrowed("till.move")
    }
    fn validate(command: &Move) -> Result<(), ValidationError> {
        if command.amount == 0 {
            return Err(ValidationError::new("amount", "must be more than zero"));
        }
        Ok(())
    }
    fn handle(&self, command: &Move) -> Result<Vec<TillEvent>, NotOpen> {
        if !self.open {
            return Err(NotOpen);
        }
        Ok(vec![
            Moved {
                amount: command.amount,
            }
            .into(),
        ])
    }
}

/// Tellers may do anything; auditors may open tills and move at most 100.
fn policy(request: &CommandRequest<'_>) -> Decision {
    match request.user_id() {
        Some(user) if user.starts_with("teller-") => Decision::Allow,
        Some(user) if user.starts_with("auditor-") => match request.payload::<Move>() {
            Some(moved) if moved.amount > 100 => Decision::deny("auditors move at most 100"),
            _ => Decision::Allow,
        },
        _ => Decision::deny("no user"),
    }
}

struct Fixture {
    store: Arc<Counting<InMemoryEventStore>>,
    audit: Arc<InMemoryAuditSink>,
    tills: Repository<Till, Counting<InMemoryEventStore>>,
}

fn fixture(authorizer: Arc<dyn CommandAuthorizer>) -> Fixture {
    let store = Arc::new(Counting::new(InMemoryEventStore::new()));
    let audit = Arc::new(InMemoryAuditSink::new());
    let tills = Repository::new(Arc::clone(&store))
        .with_authorizer(authorizer)
        .with_audit(audit.clone());
    Fixture {
        store,
        audit,
        tills,
    }
}

fn tenant() -> TenantId {
    TenantId::new("tenant-1").unwrap()
}

fn till() -> AggregateId {
    AggregateId::new("till-1").unwrap()
}

fn by<C>(user: &str, correlation: Uuid, payload: C) -> Command<C> {
    let metadata = Metadata::new()
        .with_user_id(user)
        .with_correlation_id(correlation);
    Command::new(tenant(), till(), payload).with_metadata(metadata)
}

#[tokio::test]
async fn a_denied_command_reads_and_writes_nothing_and_is_audited() {
    let f = fixture(Arc::new(policy));
    let correlation = Uuid::now_v7();
    let command_id = CommandId::new();
    let before = Utc::now();

    let command = by("nobody", correlation, Open).with_id(command_id);
    let error = f.tills.execute(command).await.unwrap_err();

    let expected = Denied {
        action: Action::Command {
            aggregate_type: "Till",
            command: "Open".into(),
            aggregate_id: till(),
            command_id: Some(command_id),
        },
        tenant: Some(tenant()),
        user_id: Some("nobody".into()),
        correlation_id: Some(correlation),
        reason: "no user".into(),
    };
    match error {
        CommandError::Unauthorized(denied) => assert_eq!(*denied, expected),
        other => panic!("expected a denial, got {other:?}"),
    }
    assert!(
        f.store.calls().is_empty(),
        "not even the command id was looked up: {:?}",
        f.store.calls()
    );
    let records = f.audit.records();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].denied, expected);
    assert!(before <= records[0].at && records[0].at <= Utc::now());
}

#[tokio::test]
async fn an_allowed_command_costs_what_it_did_without_an_authorizer() {
    let f = fixture(Arc::new(policy));
    let plain = Repository::<Till, _>::new(Arc::clone(&f.store));
    let correlation = Uuid::now_v7();

    let command = by("teller-1", correlation, Open).with_id(CommandId::new());
    f.tills.execute(command).await.unwrap();
    let authorized = f.store.take_calls();
    let other =
        Command::new(tenant(), AggregateId::new("till-2").unwrap(), Open).with_id(CommandId::new());
    plain.execute(other).await.unwrap();
    assert_eq!(authorized, f.store.take_calls());
    assert_eq!(authorized, ["find_command", "load_aggregate", "append"]);
    assert!(f.audit.records().is_empty());
}

#[tokio::test]
async fn the_authorizer_sees_the_command_before_it_is_validated() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let f = fixture(Arc::new(move |request: &CommandRequest<'_>| {
        log.lock().unwrap().push(format!(
            "{} {} {} {} {:?} {:?} {}",
            request.aggregate_type,
            request.command,
            request.tenant,
            request.aggregate_id,
            request.user_id(),
            request.correlation_id(),
            request.payload::<Move>().map_or(0, |m| m.amount),
        ));
        policy(request)
    }));
    let correlation = Uuid::nil();

    // Denied, although it is also invalid: the denial comes first.
    let error = f
        .tills
        .execute(by("nobody", correlation, Move { amount: 0 }))
        .await
        .unwrap_err();
    assert!(matches!(error, CommandError::Unauthorized(_)), "{error:?}");
    // Allowed, then refused by its validation.
    let error = f
        .tills
        .execute(by("teller-1", correlation, Move { amount: 0 }))
        .await
        .unwrap_err();
    assert!(matches!(error, CommandError::Validation(_)), "{error:?}");
    // The command's value is there for rules on it.
    f.tills
        .execute(by("teller-1", correlation, Open))
        .await
        .unwrap();
    let error = f
        .tills
        .execute(by("auditor-1", correlation, Move { amount: 500 }))
        .await
        .unwrap_err();
    assert!(matches!(error, CommandError::Unauthorized(_)), "{error:?}");
    f.tills
        .execute(by("auditor-1", correlation, Move { amount: 50 }))
        .await
        .unwrap();

    let nil = Some(correlation);
    assert_eq!(
        *seen.lock().unwrap(),
        [
            format!("Till till.move tenant-1 till-1 Some(\"nobody\") {nil:?} 0"),
            format!("Till till.move tenant-1 till-1 Some(\"teller-1\") {nil:?} 0"),
            format!("Till Open tenant-1 till-1 Some(\"teller-1\") {nil:?} 0"),
            format!("Till till.move tenant-1 till-1 Some(\"auditor-1\") {nil:?} 500"),
            format!("Till till.move tenant-1 till-1 Some(\"auditor-1\") {nil:?} 50"),
        ]
    );
    let reasons: Vec<(Option<String>, String)> = f
        .audit
        .denials()
        .into_iter()
        .map(|denied| (denied.user_id, denied.reason))
        .collect();
    assert_eq!(
        reasons,
        [
            (Some("nobody".to_owned()), "no user".to_owned()),
            (
                Some("auditor-1".to_owned()),
                "auditors move at most 100".to_owned()
            ),
        ]
    );
}

/// A policy that asks elsewhere: here, a list of tenants that may write, behind a lock
/// an application would replace with a call to its policy service.
struct WritableTenants(tokio::sync::RwLock<Vec<TenantId>>);

#[async_trait]
impl CommandAuthorizer for WritableTenants {
    async fn authorize(&self, request: &CommandRequest<'_>) -> Decision {
        if self.0.read().await.contains(request.tenant) {
            Decision::Allow
        } else {
            Decision::deny(format!("tenant {} is read-only", request.tenant))
        }
    }
}

#[tokio::test]
async fn an_async_authorizer_guards_repeats_of_applied_commands_too() {
    let tenants = Arc::new(WritableTenants(tokio::sync::RwLock::new(vec![tenant()])));
    let f = fixture(tenants.clone());
    let command_id = CommandId::new();
    let first = f
        .tills
        .execute(Command::new(tenant(), till(), Open).with_id(command_id))
        .await
        .unwrap();
    assert_eq!(first.version, 1);

    tenants.0.write().await.clear();
    f.store.take_calls();
    let repeat = Command::new(tenant(), till(), Open).with_id(command_id);
    let error = f.tills.execute(repeat).await.unwrap_err();
    let CommandError::Unauthorized(denied) = error else {
        panic!("expected a denial, got {error:?}");
    };
    assert_eq!(denied.reason, "tenant tenant-1 is read-only");
    assert_eq!(denied.user_id, None);
    assert_eq!(
        denied.to_string(),
        "command `Open` on `Till` \"till-1\" denied for an anonymous caller of tenant \
         \"tenant-1\": tenant tenant-1 is read-only"
    );
    assert!(
        f.store.calls().is_empty(),
        "a denied repeat does not learn the first outcome"
    );
    assert_eq!(f.audit.denials(), [*denied]);
}

/// The command path with an authorizer still returns a `Send` future (compiling is the
/// test), as does asking an authorizer or an audit sink.
#[test]
fn the_futures_are_send() {
    fn boxed<'a, T>(future: std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>) {
        drop(future);
    }
    let f = fixture(Arc::new(policy));
    let command = by("teller-1", Uuid::nil(), Open);
    boxed(Box::pin(f.tills.execute(command)));
    let command = by("teller-1", Uuid::nil(), Open);
    let request = CommandRequest::new("Till", "Open", &command);
    let authorizer: Arc<dyn CommandAuthorizer> = Arc::new(policy);
    boxed(authorizer.authorize(&request));
}
