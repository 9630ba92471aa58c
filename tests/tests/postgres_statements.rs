//! The tenant binding costs no round trip: every store call, bound store or not, is one
//! statement. Counted from the statements sqlx reports (its `sqlx::query` events) while
//! the call runs, on a current-thread runtime so that every task reports to the counter.

use std::str::FromStr;
use std::sync::{Arc, Mutex};

use acci_core::{
    AggregateId, CommandId, EventId, EventStore, ExpectedVersion, Metadata, NewEvent, ReadAll,
    Snapshot, StreamId, TenantId, TenantScope,
};
use acci_postgres::PgEventStore;
use acci_tests::pg::{READER_LOGIN, TestDatabase, database_url};
use serde_json::json;
use sqlx::postgres::PgConnectOptions;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata as TracingMetadata, Subscriber};

/// Collects the summary of every statement sqlx reports.
#[derive(Clone, Default)]
struct Statements(Arc<Mutex<Vec<String>>>);

impl Statements {
    /// The statements since the last call, but the notification to projection runners:
    /// it goes after the commit, on a connection of its own, off the caller's path.
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
            .into_iter()
            .filter(|s| !s.contains("pg_notify"))
            .collect()
    }
}

struct Summary(String);

impl Visit for Summary {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "summary" {
            self.0 = value.to_owned();
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "summary" && self.0.is_empty() {
            self.0 = format!("{value:?}");
        }
    }
}

impl Subscriber for Statements {
    fn register_callsite(&self, _: &'static TracingMetadata<'static>) -> Interest {
        Interest::sometimes()
    }
    fn enabled(&self, metadata: &TracingMetadata<'_>) -> bool {
        metadata.target() == "sqlx::query"
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut summary = Summary(String::new());
        event.record(&mut summary);
        self.0.lock().unwrap().push(summary.0);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

fn counted(n: u64) -> NewEvent {
    NewEvent {
        event_id: EventId::new(),
        event_type: "Counted".into(),
        schema_version: 1,
        payload: json!({ "n": n }),
        metadata: Metadata::default(),
    }
}

/// Runs every store call twice (the first prepares its statement on the connection),
/// and asserts the second sent one statement.
async fn each_call_is_one_statement<S: EventStore>(store: &S, id: &str, statements: &Statements) {
    let tenant = TenantId::new("tenant-a").unwrap();
    let stream = StreamId::new(tenant.clone(), "Account", AggregateId::new(id).unwrap()).unwrap();
    let command = CommandId::new();
    for round in 0..2 {
        let mut seen: Vec<(&str, Vec<String>)> = Vec::new();
        statements.take();
        store
            .append(
                &stream,
                ExpectedVersion::Any,
                vec![counted(round)],
                Some(CommandId::new()),
            )
            .await
            .unwrap();
        seen.push(("append", statements.take()));
        store
            .append(
                &stream,
                ExpectedVersion::Any,
                vec![counted(round)],
                Some(command),
            )
            .await
            .unwrap();
        seen.push(("append of a repeated command", statements.take()));
        store.load(&stream, 1).await.unwrap();
        seen.push(("load", statements.take()));
        store.load_aggregate(&stream, Some(1)).await.unwrap();
        seen.push(("load_aggregate", statements.take()));
        store
            .save_snapshot(
                &stream,
                Snapshot {
                    version: 1,
                    state_version: 1,
                    state: json!({}),
                    taken_at: chrono::Utc::now(),
                },
            )
            .await
            .unwrap();
        seen.push(("save_snapshot", statements.take()));
        store.load_snapshot(&stream).await.unwrap();
        seen.push(("load_snapshot", statements.take()));
        store.find_command(&tenant, command).await.unwrap();
        seen.push(("find_command", statements.take()));
        store
            .read_all(&ReadAll::new(TenantScope::Tenant(tenant.clone())))
            .await
            .unwrap();
        seen.push(("read_all of one tenant", statements.take()));
        if round == 1 {
            for (call, sent) in seen {
                assert_eq!(sent.len(), 1, "{call} sent {sent:?}");
            }
        }
    }
}

#[tokio::test]
async fn every_store_call_is_one_statement() {
    let db = TestDatabase::create().await;
    // Statement logging on (the test harness turns it off), one connection.
    let options = PgConnectOptions::from_str(&database_url())
        .unwrap()
        .database(db.name())
        .username(READER_LOGIN)
        .password("");
    let pool = PgEventStore::pool_options()
        .max_connections(1)
        .connect_with(options)
        .await
        .unwrap();
    let store = PgEventStore::from_pool(pool);

    let statements = Statements::default();
    let _counting = tracing::subscriber::set_default(statements.clone());
    each_call_is_one_statement(&store, "unbound", &statements).await;
    let bound = store.for_tenant(TenantId::new("tenant-a").unwrap());
    each_call_is_one_statement(&bound, "bound", &statements).await;
    store
        .read_all(&ReadAll::new(TenantScope::AllTenants))
        .await
        .unwrap();
    assert_eq!(statements.take().len(), 1, "read_all of every tenant");
}
