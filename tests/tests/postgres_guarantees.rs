//! What only a real PostgreSQL can show: the global log under concurrent writers and late
//! commits, tenant isolation enforced by the database, recovery from lost connections,
//! migrations, and stored events that no longer decode.

// The domain types below exist for the tests; documenting each would add only noise.
#![allow(missing_docs)]

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use acci_core::prelude::*;
use acci_core::testing::Counting;
use acci_core::{
    AppendOutcome, EventId, LoadError, LogPosition, NewEvent, ReadAll, Snapshot, StoreError,
    StoredEvent, StreamId, TenantScope,
};
use acci_postgres::PgEventStore;
use acci_tests::pg::{APP_LOGIN, READER_LOGIN, TestDatabase};
use serde_json::json;
use sqlx::postgres::PgPoolOptions;
use sqlx::{Executor, Row};

fn tenant(name: &str) -> TenantId {
    TenantId::new(name).unwrap()
}

fn stream(tenant_name: &str, id: &str) -> StreamId {
    StreamId::new(
        tenant(tenant_name),
        "Account",
        AggregateId::new(id).unwrap(),
    )
    .unwrap()
}

fn event(n: usize) -> NewEvent {
    NewEvent {
        event_id: EventId::new(),
        event_type: "Counted".into(),
        schema_version: 1,
        payload: json!({ "n": n }),
        metadata: Metadata::new(),
    }
}

/// Writers commit out of order (one holds its transaction open while others commit after
/// it) and a reader tails the log the whole time: it sees every committed event exactly
/// once, in an order that agrees with every stream's order, and never finds an event
/// before a position it has passed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tailing_reader_sees_every_event_once_despite_late_commits() {
    const WRITERS: usize = 6;
    const APPENDS: usize = 40;
    const LATE: usize = 5;
    let db = TestDatabase::create().await;
    let store = Arc::new(db.store().await);
    let writing = Arc::new(AtomicBool::new(true));

    let reader = {
        let (store, writing) = (Arc::clone(&store), Arc::clone(&writing));
        tokio::spawn(async move {
            let mut seen: Vec<StoredEvent> = Vec::new();
            let mut after = LogPosition::START;
            let deadline = Instant::now() + Duration::from_secs(120);
            loop {
                let still_writing = writing.load(Ordering::SeqCst);
                let batch = store
                    .read_all(&ReadAll::new(TenantScope::AllTenants).after(after).limit(7))
                    .await
                    .expect("read the log");
                for event in &batch.events {
                    assert!(
                        event.position > after,
                        "the log went back: {} after {after}",
                        event.position
                    );
                    after = event.position;
                }
                let empty = batch.events.is_empty();
                seen.extend(batch.events);
                if empty && !still_writing && seen.len() == WRITERS * APPENDS + LATE {
                    return seen;
                }
                assert!(
                    Instant::now() < deadline,
                    "the reader saw {} events",
                    seen.len()
                );
                if empty {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
        })
    };

    // A writer that keeps its transaction open while the others commit: its events get
    // lower positions but become visible last.
    let late_writer = {
        let pool = db.pool_as(Some(APP_LOGIN), 1).await;
        tokio::spawn(async move {
            for n in 0..LATE {
                let mut tx = pool.begin().await.unwrap();
                sqlx::query("SELECT set_config('acci.tenant_id', 't-late', true)")
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                sqlx::query(
                    "SELECT * FROM event_store.append('t-late', 'Account', 'late', NULL, NULL, \
                     ARRAY[$1::uuid], ARRAY['Counted'], ARRAY[1], ARRAY[$2::jsonb], ARRAY['{}'::jsonb])",
                )
                .bind(EventId::new().as_uuid())
                .bind(json!({ "n": n }))
                .fetch_one(&mut *tx)
                .await
                .unwrap();
                tokio::time::sleep(Duration::from_millis(150)).await;
                tx.commit().await.unwrap();
            }
        })
    };

    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                for n in 0..APPENDS {
                    let s = stream(&format!("t-{}", w % 3), &format!("s-{}", (w + n) % 4));
                    store
                        .append(&s, ExpectedVersion::Any, vec![event(n)], None)
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    late_writer.await.unwrap();
    writing.store(false, Ordering::SeqCst);
    let seen = reader.await.unwrap();

    let ids: HashSet<EventId> = seen.iter().map(|e| e.event_id).collect();
    assert_eq!(ids.len(), seen.len(), "no event seen twice");
    let mut last: HashMap<StreamId, u64> = HashMap::new();
    for e in &seen {
        let before = last.insert(e.stream.clone(), e.sequence).unwrap_or(0);
        assert_eq!(
            e.sequence,
            before + 1,
            "stream {} out of order in the log",
            e.stream
        );
    }
    let admin = db.pool_as(None, 1).await;
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM event_store.events")
        .fetch_one(&admin)
        .await
        .unwrap();
    assert_eq!(
        stored as usize,
        seen.len(),
        "every committed event was seen"
    );
}

/// Stream loads are not held back by the global log's horizon: a writer sees its own
/// events at once even while another transaction stays open.
#[tokio::test]
async fn stream_loads_see_committed_events_while_the_log_waits() {
    let db = TestDatabase::create().await;
    let store = db.store().await;
    let pool = db.pool_as(Some(APP_LOGIN), 1).await;
    let mut open = pool.begin().await.unwrap();
    sqlx::query("SELECT set_config('acci.tenant_id', 't1', true)")
        .execute(&mut *open)
        .await
        .unwrap();
    sqlx::query("SELECT * FROM event_store.append('t1', 'Account', 'slow', NULL, NULL, ARRAY[$1::uuid], ARRAY['Counted'], ARRAY[1], ARRAY['{}'::jsonb], ARRAY['{}'::jsonb])")
        .bind(EventId::new().as_uuid())
        .fetch_one(&mut *open)
        .await
        .unwrap();

    let s = stream("t1", "fast");
    store
        .append(&s, ExpectedVersion::NoStream, vec![event(1)], None)
        .await
        .unwrap();
    assert_eq!(
        store.load(&s, 1).await.unwrap().len(),
        1,
        "a stream load sees its commit at once"
    );
    let held = store
        .read_all(&ReadAll::new(TenantScope::AllTenants))
        .await
        .unwrap();
    assert!(
        held.events.is_empty(),
        "the log waits for the open transaction that began first"
    );

    open.commit().await.unwrap();
    // Other tests' transactions on the same server may hold the horizon a little longer.
    let deadline = Instant::now() + Duration::from_secs(30);
    let released = loop {
        let batch = store
            .read_all(&ReadAll::new(TenantScope::AllTenants))
            .await
            .unwrap();
        if batch.events.len() >= 2 || Instant::now() > deadline {
            break batch;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let ids: Vec<&str> = released
        .events
        .iter()
        .map(|e| e.stream.aggregate_id.as_str())
        .collect();
    assert_eq!(
        ids,
        ["slow", "fast"],
        "log order is commit-safe order: the older transaction first"
    );
}

/// Raw SQL on a session of tenant A can neither read nor write tenant B's rows, whatever
/// it asks for; the store's own calls are bound by the same rules.
#[tokio::test]
async fn row_level_security_keeps_tenants_apart() {
    let db = TestDatabase::create().await;
    let app = PgEventStore::from_pool(db.pool_as(Some(APP_LOGIN), 2).await);
    for (t, n) in [("tenant-a", 2), ("tenant-b", 3)] {
        let s = stream(t, "acc");
        app.append(
            &s,
            ExpectedVersion::NoStream,
            (0..n).map(event).collect(),
            Some(CommandId::new()),
        )
        .await
        .unwrap();
        let snapshot = Snapshot {
            version: 1,
            state_version: 1,
            state: json!({ "t": t }),
            taken_at: chrono::Utc::now(),
        };
        app.save_snapshot(&s, snapshot).await.unwrap();
    }

    let pool = db.pool_as(Some(APP_LOGIN), 1).await;
    let mut session = pool.acquire().await.unwrap();
    let count = |table: &'static str, filter: &'static str| {
        format!("SELECT count(*) FROM {table} {filter}")
    };
    // No tenant set: nothing at all.
    for table in [
        "event_store.events",
        "event_store.commands",
        "snapshots.aggregate_snapshots",
    ] {
        let n: i64 = sqlx::query_scalar(&count(table, ""))
            .fetch_one(&mut *session)
            .await
            .unwrap();
        assert_eq!(n, 0, "{table} without a tenant");
    }
    // The all-tenants switch alone does nothing for a role outside acci_all_tenants.
    session
        .execute("SELECT set_config('acci.all_tenants', 'on', false)")
        .await
        .unwrap();
    let n: i64 = sqlx::query_scalar(&count("event_store.events", ""))
        .fetch_one(&mut *session)
        .await
        .unwrap();
    assert_eq!(n, 0);

    session
        .execute("SELECT set_config('acci.tenant_id', 'tenant-a', false)")
        .await
        .unwrap();
    for (table, own) in [
        ("event_store.events", 2),
        ("event_store.commands", 1),
        ("snapshots.aggregate_snapshots", 1),
    ] {
        let all: i64 = sqlx::query_scalar(&count(table, ""))
            .fetch_one(&mut *session)
            .await
            .unwrap();
        assert_eq!(all, own, "{table} as tenant-a");
        let other: i64 = sqlx::query_scalar(&count(table, "WHERE tenant_id = 'tenant-b'"))
            .fetch_one(&mut *session)
            .await
            .unwrap();
        assert_eq!(
            other, 0,
            "{table}: tenant-b's rows are invisible to tenant-a"
        );
    }
    let writes = [
        "INSERT INTO event_store.events (event_id, tenant_id, aggregate_type, aggregate_id, sequence, event_type, \
         schema_version, data, metadata) VALUES (gen_random_uuid(), 'tenant-b', 'Account', 'x', 1, 'Forged', 1, '{}', '{}')",
        "INSERT INTO snapshots.aggregate_snapshots VALUES ('tenant-b', 'Account', 'acc', 1, 1, '{}', now())",
        "UPDATE snapshots.aggregate_snapshots SET state = '{}' WHERE tenant_id = 'tenant-b'",
        "UPDATE event_store.events SET data = '{}' WHERE tenant_id = 'tenant-b'",
        "DELETE FROM event_store.events",
        // Its own tenant, well formed: events and command records are written through
        // `event_store.append` alone, snapshots through `snapshots.save`.
        "UPDATE snapshots.aggregate_snapshots SET state = '{}' WHERE tenant_id = 'tenant-a'",
        "INSERT INTO event_store.events (event_id, tenant_id, aggregate_type, aggregate_id, sequence, event_type, \
         schema_version, data, metadata) VALUES (gen_random_uuid(), 'tenant-a', 'Account', 'z', 1, 'Forged', 1, '{}', '{}')",
        "INSERT INTO event_store.commands (tenant_id, command_id, aggregate_type, aggregate_id, first_sequence, \
         last_sequence, last_transaction_id, last_position) \
         VALUES ('tenant-a', gen_random_uuid(), 'Account', 'z', 1, 1, '1', 1)",
        // Its own tenant, but placed behind every reader's checkpoint: the database
        // assigns transaction ids and positions, never the application.
        "INSERT INTO event_store.events (event_id, tenant_id, aggregate_type, aggregate_id, sequence, event_type, \
         schema_version, data, metadata, transaction_id) \
         VALUES (gen_random_uuid(), 'tenant-a', 'Account', 'y', 1, 'Forged', 1, '{}', '{}', '5')",
    ];
    for write in writes {
        match session.execute(write).await {
            Err(sqlx::Error::Database(db)) => {
                assert_eq!(
                    db.code().as_deref(),
                    Some("42501"),
                    "{write}: {}",
                    db.message()
                );
            }
            // An UPDATE that RLS narrows to no rows is refused by matching nothing.
            Ok(done) => assert_eq!(done.rows_affected(), 0, "{write} changed tenant-b's rows"),
            Err(other) => panic!("{write}: {other}"),
        }
    }
    drop(session);

    // Through the store: a tenant sees its own log, and every-tenant reads need the role.
    let own = app
        .read_all(&ReadAll::new(TenantScope::Tenant(tenant("tenant-b"))))
        .await
        .unwrap();
    // All three of tenant-b's events (the log may lag behind other tests' transactions,
    // so it is polled), and nothing of tenant-a's.
    let mut own = own;
    let deadline = Instant::now() + Duration::from_secs(30);
    while own.events.len() < 3 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
        own = app
            .read_all(&ReadAll::new(TenantScope::Tenant(tenant("tenant-b"))))
            .await
            .unwrap();
    }
    assert_eq!(own.events.len(), 3);
    assert!(
        own.events
            .iter()
            .all(|e| e.stream.tenant.as_str() == "tenant-b")
    );
    match app.read_all(&ReadAll::new(TenantScope::AllTenants)).await {
        Err(
            error @ StoreError::Backend {
                retryable: false, ..
            },
        ) => {
            assert!(
                error
                    .to_string()
                    .contains("may not read the events of every tenant"),
                "{error}"
            );
        }
        other => panic!("expected a refusal for a role without acci_all_tenants, got {other:?}"),
    }
    let b = app
        .load_snapshot(&stream("tenant-b", "acc"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(b.state["t"], "tenant-b", "snapshots untouched");
}

/// A store on a pool with `options`, as the reader login, and a stream holding one event.
async fn store_with_one_event(
    db: &TestDatabase,
    options: PgPoolOptions,
) -> (PgEventStore, StreamId) {
    let pool = options
        .connect_with(db.options(Some(READER_LOGIN)))
        .await
        .unwrap();
    let store = PgEventStore::from_pool(pool);
    let s = stream("t1", "acc");
    store
        .append(&s, ExpectedVersion::NoStream, vec![event(0)], None)
        .await
        .unwrap();
    (store, s)
}

/// A server that drops every connection: the errors say "retryable", and the pool
/// recovers without a restart of the process.
#[tokio::test]
async fn lost_connections_are_retryable_and_the_pool_recovers() {
    let db = TestDatabase::create().await;
    // Without the ping before each use, the pool hands out a dead connection first, so
    // the error is seen; with it (the default), the pool replaces it silently.
    let options = PgPoolOptions::new()
        .max_connections(2)
        .test_before_acquire(false);
    let (store, s) = store_with_one_event(&db, options).await;

    assert!(db.terminate_connections().await >= 1);
    let mut errors = Vec::new();
    let mut loaded = None;
    for _ in 0..10 {
        match store.load(&s, 1).await {
            Ok(events) => {
                loaded = Some(events);
                break;
            }
            Err(error) => errors.push(error),
        }
    }
    assert!(
        !errors.is_empty(),
        "the dead connection should have been noticed"
    );
    for error in &errors {
        assert!(error.is_retryable(), "{error} should be retryable");
    }
    assert_eq!(loaded.expect("the pool recovered").len(), 1);
    store
        .append(&s, ExpectedVersion::Exactly(1), vec![event(1)], None)
        .await
        .unwrap();

    let healthy = db.store().await;
    healthy.load(&s, 1).await.unwrap();
    db.terminate_connections().await;
    assert_eq!(
        healthy.load(&s, 1).await.unwrap().len(),
        2,
        "the default pool tests connections first"
    );
}

/// The store's pool settings skip the ping for a connection in use a moment ago, and
/// ping one that sat idle: a connection that died while idle is replaced without an error.
#[tokio::test]
async fn the_store_pool_pings_only_connections_that_sat_idle() {
    let db = TestDatabase::create().await;
    let options = PgEventStore::pool_options().max_connections(1);
    let (store, s) = store_with_one_event(&db, options).await;

    // Dead while idle, and idle long enough to be pinged: replaced silently.
    assert!(db.terminate_connections().await >= 1);
    tokio::time::sleep(acci_postgres::PING_IDLE_AFTER + Duration::from_millis(200)).await;
    assert_eq!(store.load(&s, 1).await.unwrap().len(), 1);

    // Dead and handed out at once, unpinged: the call fails retryably, the next succeeds.
    assert!(db.terminate_connections().await >= 1);
    let first = store.load(&s, 1).await;
    if let Err(error) = &first {
        assert!(error.is_retryable(), "{error} should be retryable");
    }
    assert_eq!(store.load(&s, 1).await.unwrap().len(), 1);
}

#[event]
pub struct Deposited {
    pub amount: u64,
}

#[derive(Aggregate, Debug, Default)]
#[aggregate(events(Deposited))]
pub struct Account {
    balance: u64,
}

impl Apply<Deposited> for Account {
    fn apply(&mut self, event: &Deposited) {
        self.balance += event.amount;
    }
}

/// A stored payload that no longer decodes is reported with its id, type and version,
/// and left as it was.
#[tokio::test]
async fn an_undecodable_event_is_reported_and_left_alone() {
    let db = TestDatabase::create().await;
    let store = Arc::new(db.store().await);
    let accounts = Repository::<Account, _>::new(Arc::clone(&store));
    let s = StreamId::new(tenant("t1"), "Account", AggregateId::new("acc").unwrap()).unwrap();
    let good = NewEvent::from_event(&Deposited { amount: 5 }, Metadata::new()).unwrap();
    let mut bad = NewEvent::from_event(&Deposited { amount: 1 }, Metadata::new()).unwrap();
    bad.payload = json!({ "amount": "a lot" });
    let bad_id = bad.event_id;
    store
        .append(&s, ExpectedVersion::NoStream, vec![good, bad], None)
        .await
        .unwrap();

    let error = accounts
        .load(&tenant("t1"), &AggregateId::new("acc").unwrap())
        .await
        .unwrap_err();
    let LoadError::Decode(decode) = &error else {
        panic!("expected a decode error, got {error}")
    };
    assert_eq!(decode.event_id, Some(bad_id));
    assert_eq!(
        (decode.event_type.as_str(), decode.schema_version),
        ("Deposited", 1)
    );
    let stored = store.load(&s, 2).await.unwrap();
    assert_eq!(
        stored[0].data,
        json!({ "amount": "a lot" }),
        "nothing was rewritten"
    );
}

/// Migrations apply once, concurrently or again, and refuse a migration that changed.
#[tokio::test]
async fn migrations_are_idempotent_and_safe_to_run_concurrently() {
    // Two empty databases migrated at once (roles are shared by the whole server), and
    // two processes migrating the first one at the same moment.
    let (db, other) = tokio::join!(TestDatabase::create_empty(), TestDatabase::create_empty());
    let third = PgEventStore::from_pool(other.pool_as(None, 1).await);
    let first = PgEventStore::from_pool(db.pool_as(None, 1).await);
    let second = PgEventStore::from_pool(db.pool_as(None, 1).await);
    let (a, b, c) = tokio::join!(first.migrate(), second.migrate(), third.migrate());
    a.unwrap();
    b.unwrap();
    c.unwrap();
    first.migrate().await.unwrap();
    let rows = sqlx::query("SELECT version FROM event_store.schema_migrations ORDER BY version")
        .fetch_all(first.pool())
        .await
        .unwrap();
    let versions: Vec<i32> = rows.iter().map(|r| r.get("version")).collect();
    assert_eq!(
        versions,
        acci_postgres::MIGRATIONS
            .iter()
            .map(|m| m.version)
            .collect::<Vec<_>>()
    );

    first
        .pool()
        .execute("UPDATE event_store.schema_migrations SET checksum = 'edited' WHERE version = 1")
        .await
        .unwrap();
    let refused = first.migrate().await.unwrap_err();
    assert!(
        refused.to_string().contains("differs from the one applied"),
        "{refused}"
    );
}

/// Values the database cannot hold are refused before any SQL runs.
#[tokio::test]
async fn out_of_range_input_is_refused_before_sql() {
    let db = TestDatabase::create().await;
    let store = db.store().await;
    let s = stream("t1", "acc");
    match store
        .append(&s, ExpectedVersion::Exactly(u64::MAX), vec![event(0)], None)
        .await
    {
        Err(StoreError::Validation(invalid)) => assert!(
            invalid.to_string().contains("expected version"),
            "{invalid}"
        ),
        other => panic!("expected a validation error, got {other:?}"),
    }
    let mut huge = event(0);
    huge.schema_version = u32::MAX;
    assert!(matches!(
        store
            .append(&s, ExpectedVersion::Any, vec![huge], None)
            .await,
        Err(StoreError::Validation(_))
    ));
    let at_max = ReadAll::new(TenantScope::AllTenants).after(LogPosition {
        commit: 1,
        position: u64::MAX,
    });
    assert!(matches!(
        store.read_all(&at_max).await,
        Err(StoreError::Validation(_))
    ));
    assert!(matches!(
        store
            .append(&s, ExpectedVersion::NoStream, vec![event(1)], None)
            .await,
        Ok(AppendOutcome::Appended(_))
    ));
}

#[event]
pub struct Counted {
    pub by: u64,
}

#[derive(Aggregate, Debug, Default, serde::Serialize, serde::Deserialize)]
#[aggregate(events(Counted), snapshot_every = 3)]
pub struct Counter {
    total: u64,
}

impl Apply<Counted> for Counter {
    fn apply(&mut self, event: &Counted) {
        self.total += event.by;
    }
}

pub struct Count(u64);

impl Handle<Count> for Counter {
    type Error = std::convert::Infallible;
    fn handle(&self, command: &Count) -> Result<Vec<CounterEvent>, Self::Error> {
        Ok(vec![Counted { by: command.0 }.into()])
    }
}

/// The command path on PostgreSQL: snapshots are written and used, a repeated command id
/// answers with the first outcome in one round trip, and concurrent commands on one
/// aggregate all count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_path_runs_on_postgres() {
    let db = TestDatabase::create().await;
    let store = Arc::new(Counting::new(db.store().await));
    let counters =
        Repository::<Counter, _>::new(store.clone()).with_retry(RetryPolicy::attempts(200));
    let (t, id) = (tenant("t1"), AggregateId::new("c").unwrap());
    let command_id = CommandId::new();
    let first = counters
        .execute(Command::new(t.clone(), id.clone(), Count(5)).with_id(command_id))
        .await
        .unwrap();
    store.take_calls();
    let again = counters
        .execute(Command::new(t.clone(), id.clone(), Count(5)).with_id(command_id))
        .await
        .unwrap();
    assert_eq!(store.take_calls(), ["find_command"]);
    assert!(!first.duplicate && again.duplicate);
    assert_eq!(
        (again.version, again.events.clone()),
        (first.version, first.events.clone())
    );

    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let (counters, t, id) = (counters.clone(), t.clone(), id.clone());
            tokio::spawn(async move {
                for _ in 0..5 {
                    counters
                        .execute(Command::new(t.clone(), id.clone(), Count(1)))
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let loaded = counters.load(&t, &id).await.unwrap();
    assert_eq!((loaded.version, loaded.state.total), (21, 25));
    assert_eq!(
        loaded.snapshot_version,
        Some(21),
        "the last snapshot covers version 21 (every 3 events)"
    );
    assert_eq!(loaded.events_applied, 0);
}

/// The append reads the stream's version after taking its lock, which only READ
/// COMMITTED makes safe (each statement reads a fresh snapshot). Under a stricter default
/// isolation it refuses, with a message that says so, and stores nothing; no append ever
/// needs a retry for a lost race on the sequence number.
#[tokio::test]
async fn the_append_refuses_an_isolation_stricter_than_read_committed() {
    let db = TestDatabase::create().await;
    let admin = db.pool_as(None, 1).await;
    let s = stream("t1", "strict");
    for level in ["repeatable read", "serializable"] {
        admin
            .execute(
                format!(
                    "ALTER ROLE {READER_LOGIN} IN DATABASE {} SET default_transaction_isolation = '{level}'",
                    db.name()
                )
                .as_str(),
            )
            .await
            .unwrap();
        let store = db.store().await;
        match store
            .append(&s, ExpectedVersion::Any, vec![event(1)], None)
            .await
        {
            Err(error @ StoreError::Backend { .. }) => {
                assert!(!error.is_retryable(), "{error}");
                assert!(error.to_string().contains("READ COMMITTED"), "{error}");
            }
            other => panic!("expected a refusal under {level}, got {other:?}"),
        }
        store.pool().close().await;
    }
    admin
        .execute(
            format!(
                "ALTER ROLE {READER_LOGIN} IN DATABASE {} RESET default_transaction_isolation",
                db.name()
            )
            .as_str(),
        )
        .await
        .unwrap();
    let store = db.store().await;
    assert!(store.load(&s, 1).await.unwrap().is_empty());
    assert!(matches!(
        store
            .append(&s, ExpectedVersion::Any, vec![event(1)], None)
            .await,
        Ok(AppendOutcome::Appended(_))
    ));
}
