//! Runners over a log with poison in it, written by raw SQL as the owner: every event
//! that cannot be projected (too deep, unreadable, malformed metadata, an unknown schema
//! version) is parked, and every other event of every tenant is projected, by the
//! PostgreSQL runners and the in-memory one. And runners that fail loudly: a database
//! error that no retry cures shows in the status, and a row the table refuses is pinned
//! on its event.

// The domain types below exist for the tests; documenting each would add only noise.
#![allow(missing_docs)]

use std::time::{Duration, Instant};

use acci_core::prelude::*;
use acci_core::projection::InMemoryProjection;
use acci_core::{
    AppendOutcome, EventKind, EventStore, ExpectedVersion, LogPosition, MAX_READ_JSON_DEPTH,
    Metadata, NewEvent, StoreError, StoredEvent, StreamId,
};
use acci_postgres::projection::{
    CustomProjection, CustomProjectionRunner, HandleError, ProjectionState, Runner, RunnerModel,
    RunnerStatus,
};
use acci_postgres::{FailurePolicy, PgEventStore, ProjectionRunner, RunnerOptions};
use acci_tests::pg::{APP_LOGIN, READER_LOGIN, TestDatabase};
use serde_json::{Value, json};

#[event]
pub struct Counted {
    pub n: i64,
}

/// One row per stream: its tenant and the sum of its counts.
#[projection(table = "count_totals", events(Counted))]
pub struct CountTotal {
    #[projection(key)]
    pub stream: String,
    pub tenant: String,
    pub total: i64,
}

impl Project<Counted> for CountTotal {
    fn project(row: &mut Option<Self>, event: &Recorded<Counted>) {
        let row = row.get_or_insert_with(|| CountTotal {
            stream: event.stream.aggregate_id.to_string(),
            tenant: event.stream.tenant.to_string(),
            total: 0,
        });
        row.total += event.data.n;
    }
}

/// A hand-written projection of the same events: one row per event, decoded as typed.
struct CountLog;

#[async_trait::async_trait]
impl CustomProjection for CountLog {
    const NAME: &'static str = "count_log";
    const VERSION: u32 = 1;
    const EVENTS: &'static [EventKind] = &[EventKind::new("Account", "Counted")];
    const TABLES: &'static [&'static str] = &["count_log"];

    async fn setup(&self, tx: &mut sqlx::PgConnection) -> Result<(), sqlx::Error> {
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS count_log \
             (event_id uuid PRIMARY KEY, tenant text NOT NULL, n bigint NOT NULL)",
        )
        .execute(&mut *tx)
        .await
        .map(|_| ())
    }

    async fn handle(
        &self,
        event: &StoredEvent,
        tx: &mut sqlx::PgConnection,
    ) -> Result<(), HandleError> {
        let counted = acci_core::__private::decode_recorded::<Counted>(event.clone())
            .map_err(acci_core::ProjectionError::from)?;
        sqlx::query("INSERT INTO count_log VALUES ($1, $2, $3)")
            .bind(event.event_id.as_uuid())
            .bind(event.stream.tenant.as_str())
            .bind(counted.data.n)
            .execute(&mut *tx)
            .await?;
        Ok(())
    }
}

fn stream(tenant: &str, id: &str) -> StreamId {
    StreamId::new(
        TenantId::new(tenant).unwrap(),
        "Account",
        AggregateId::new(id).unwrap(),
    )
    .unwrap()
}

fn nested(levels: usize) -> Value {
    let mut value = json!(1);
    for _ in 0..levels {
        value = json!({ "a": value });
    }
    value
}

async fn count(store: &PgEventStore, tenant: &str, n: i64) -> LogPosition {
    let event = NewEvent::from_event(&Counted { n }, Metadata::new()).unwrap();
    let appended = store
        .append(
            &stream(tenant, &format!("s-{tenant}")),
            ExpectedVersion::Any,
            vec![event],
            None,
        )
        .await
        .expect("append");
    match appended {
        AppendOutcome::Appended(appended) => appended.last_position,
        other => panic!("{other:?}"),
    }
}

/// Catches up until the runner has passed `last` (a transaction of another test's
/// database may hold the log's horizon back for a moment); returns the events applied.
async fn catch_up_to<M: RunnerModel>(runner: &Runner<M>, last: LogPosition) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut applied = 0;
    while !runner.wait_for(last, Duration::ZERO).await.unwrap() {
        assert!(
            Instant::now() < deadline,
            "the runner never got to {last:?}"
        );
        applied += runner.catch_up().await.expect("catch up");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    applied
}

/// Inserts a `Counted` event as the owner, past the store's functions. `Err` if the
/// database itself refuses the row (a check constraint).
async fn insert_raw(
    owner: &sqlx::PgPool,
    stream: &StreamId,
    sequence: i64,
    schema_version: i32,
    data: &str,
    metadata: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO event_store.events (event_id, tenant_id, aggregate_type, aggregate_id, \
         sequence, event_type, schema_version, data, metadata) \
         VALUES (gen_random_uuid(), $1, $2, $3, $4, 'Counted', $5, $6::text::jsonb, $7::text::jsonb)",
    )
    .bind(stream.tenant.as_str())
    .bind(&*stream.aggregate_type)
    .bind(stream.aggregate_id.as_str())
    .bind(sequence)
    .bind(schema_version)
    .bind(data)
    .bind(metadata)
    .execute(owner)
    .await
    .map(|_| ())
}

fn options(failure: FailurePolicy) -> RunnerOptions {
    RunnerOptions {
        batch_size: 3,
        poll_interval: Duration::from_millis(50),
        standby_interval: Duration::from_millis(50),
        failure,
    }
}

const RETRY: FailurePolicy = FailurePolicy::RetryThenPark {
    attempts: 2,
    backoff: Duration::from_millis(10),
};

/// Good events of two tenants around four poison rows; returns how many poison rows the
/// database took (a database that refuses malformed metadata takes three) and the last
/// position.
async fn poisoned_log(db: &TestDatabase, store: &PgEventStore) -> (usize, LogPosition) {
    let owner = db.pool_as(None, 1).await;
    let bad = stream("t1", "bad");
    let ok = r#"{"n": 1000}"#;
    count(store, "t1", 1).await;
    count(store, "t2", 10).await;
    // (a) 200 levels: read, but not a `Counted`.
    insert_raw(&owner, &bad, 1, 1, &nested(200).to_string(), "{}")
        .await
        .expect("insert a deep payload");
    count(store, "t1", 2).await;
    // (b) deeper than a reader hands out: unreadable.
    let too_deep = nested(MAX_READ_JSON_DEPTH + 88).to_string();
    insert_raw(&owner, &bad, 2, 1, &too_deep, "{}")
        .await
        .expect("insert a payload too deep to read");
    count(store, "t2", 20).await;
    // (c) metadata of the wrong shape.
    let mut taken = 3;
    if insert_raw(&owner, &bad, 3, 1, ok, r#"{"correlation_id": 42}"#)
        .await
        .is_ok()
    {
        taken += 1;
    }
    count(store, "t1", 3).await;
    // (d) a schema version no code knows.
    insert_raw(&owner, &bad, 4, 9, ok, "{}")
        .await
        .expect("insert an unknown version");
    let last = count(store, "t2", 30).await;
    (taken, last)
}

async fn totals(db: &TestDatabase) -> Vec<(String, i64)> {
    sqlx::query_as("SELECT tenant, total FROM read_models.count_totals ORDER BY tenant")
        .fetch_all(&db.pool_as(None, 1).await)
        .await
        .unwrap()
}

/// Both kinds of runner, under a retrying policy and under `Park`: each poison row is
/// parked with its reason, every good event of both tenants is projected, and
/// `catch_up` returns normally.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_rows_are_parked_and_every_other_event_projected() {
    let db = TestDatabase::create().await;
    let store = db.store().await;
    let (poison, last) = poisoned_log(&db, &store).await;

    let table = ProjectionRunner::<CountTotal>::new(db.pool_as(Some(READER_LOGIN), 4).await)
        .with_options(options(RETRY))
        .unwrap();
    assert_eq!(catch_up_to(&table, last).await, 6);
    assert_eq!(totals(&db).await, [("t1".into(), 6), ("t2".into(), 60)]);
    let status = table.status().await.unwrap();
    assert_eq!(
        (status.events_applied, status.events_parked),
        (6, poison as u64)
    );
    assert_eq!(
        (status.state, status.failing),
        (ProjectionState::Running, None)
    );
    let letters = table.dead_letters().await.unwrap();
    assert_eq!(letters.len(), poison);
    assert!(letters.iter().all(|l| l.attempts == 2), "{letters:#?}");
    let reasons: Vec<&str> = letters.iter().map(|l| l.error.as_str()).collect();
    assert!(reasons[0].contains("Counted"), "{reasons:?}");
    assert!(reasons[1].contains("nests 600 levels"), "{reasons:?}");
    if poison == 4 {
        assert!(reasons[2].contains("metadata is malformed"), "{reasons:?}");
    }
    assert!(reasons[poison - 1].contains('9'), "{reasons:?}");

    let custom = CustomProjectionRunner::new(db.pool_as(Some(READER_LOGIN), 4).await, CountLog)
        .with_options(options(FailurePolicy::Park))
        .unwrap();
    assert_eq!(catch_up_to(&custom, last).await, 6);
    let logged: Vec<(String, i64)> = sqlx::query_as(
        "SELECT tenant, sum(n)::bigint FROM read_models.count_log GROUP BY tenant ORDER BY tenant",
    )
    .fetch_all(&db.pool_as(None, 1).await)
    .await
    .unwrap();
    assert_eq!(logged, [("t1".into(), 6), ("t2".into(), 60)]);
    let status = custom.status().await.unwrap();
    assert_eq!(
        (status.events_applied, status.events_parked),
        (6, poison as u64)
    );
    assert_eq!(custom.dead_letters().await.unwrap().len(), poison);

    // Replaying them changes nothing: each fails again, and stays parked.
    let replayed = table.replay_dead_letters().await.expect("replay");
    assert_eq!(
        (replayed.applied, replayed.still_failing),
        (0, poison as u64)
    );
    let last = count(&store, "t1", 4).await;
    assert_eq!(catch_up_to(&table, last).await, 1, "the runner goes on");

    // The in-memory runner over the same log parks the same events.
    let memory = InMemoryProjection::<CountTotal>::new().with_batch_size(3);
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut applied = 0;
    while memory.status().position < last {
        assert!(
            Instant::now() < deadline,
            "the in-memory runner never got there"
        );
        applied += memory.catch_up(&store).await.expect("catch up");
    }
    assert_eq!(applied, 7);
    let rows: Vec<(String, i64)> = memory
        .rows()
        .into_iter()
        .map(|r| (r.tenant, r.total))
        .collect();
    assert_eq!(rows, [("t1".into(), 10), ("t2".into(), 60)]);
    let parked = memory.dead_letters();
    assert_eq!(parked.len(), poison, "{parked:#?}");
    assert_eq!(memory.status().events_parked, poison as u64);
    assert!(parked[1].error.contains("nests 600 levels"), "{parked:#?}");
    assert_eq!(parked[1].event_type, None);
}

/// Polls `status` until `done` holds, for at most 20 seconds.
async fn eventually<M: RunnerModel>(
    runner: &Runner<M>,
    what: &str,
    done: impl Fn(&RunnerStatus) -> bool,
) -> RunnerStatus {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let status = runner.status().await.unwrap();
        if done(&status) {
            return status;
        }
        assert!(Instant::now() < deadline, "{what}: {status:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A column of the runner's table dropped by hand: no retry cures that, and it is no one
/// event's fault. `run` keeps trying, with a growing wait, and the status says since
/// when, how often and why; putting the column back clears it, and the event is
/// projected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_database_error_shows_in_the_status() {
    let db = TestDatabase::create().await;
    let store = db.store().await;
    let admin = db.pool_as(None, 1).await;
    let runner = ProjectionRunner::<CountTotal>::new(db.pool_as(Some(READER_LOGIN), 4).await)
        .with_options(options(RETRY))
        .unwrap();
    let first = count(&store, "t1", 1).await;
    catch_up_to(&runner, first).await;
    sqlx::query("ALTER TABLE read_models.count_totals DROP COLUMN total")
        .execute(&admin)
        .await
        .unwrap();
    count(&store, "t1", 2).await;

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn({
        let runner = runner.clone();
        async move {
            runner
                .run(async {
                    let _ = stopped.await;
                })
                .await
        }
    });
    let status = eventually(&runner, "failing twice", |s| {
        s.failing.as_ref().is_some_and(|f| f.attempts >= 2)
    })
    .await;
    let failing = status.failing.expect("failing");
    assert_eq!(status.state, ProjectionState::Failing);
    assert!(failing.error.contains("total"), "{failing:?}");
    assert_eq!(status.last_error.as_deref(), Some(failing.error.as_str()));
    assert!(failing.since <= chrono::Utc::now());
    assert_eq!(status.events_parked, 0, "not the event's fault");

    sqlx::query("ALTER TABLE read_models.count_totals ADD COLUMN total bigint NOT NULL DEFAULT 1")
        .execute(&admin)
        .await
        .unwrap();
    let status = eventually(&runner, "recovered", |s| s.failing.is_none()).await;
    assert_eq!(status.state, ProjectionState::Running);
    assert_eq!(status.events_applied, 2);
    assert_eq!(
        totals(&db).await,
        [("t1".into(), 3)],
        "the default 1, then 2"
    );
    stop.send(()).unwrap();
    task.await.unwrap().unwrap();
}

/// A row the table refuses (a check constraint), in a batch of several events: the
/// runner runs the batch one event at a time, parks the event whose row is refused, and
/// applies the others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_row_is_pinned_on_its_event() {
    let db = TestDatabase::create().await;
    let store = db.store().await;
    let runner = ProjectionRunner::<CountTotal>::new(db.pool_as(Some(READER_LOGIN), 4).await)
        .with_options(options(RETRY))
        .unwrap();
    runner.prepare().await.unwrap();
    sqlx::query("ALTER TABLE read_models.count_totals ADD CONSTRAINT small CHECK (total < 1000)")
        .execute(&db.pool_as(None, 1).await)
        .await
        .unwrap();
    count(&store, "t1", 1).await;
    count(&store, "t2", 5_000).await;
    count(&store, "t1", 2).await;
    let last = count(&store, "t2", 3).await;
    assert_eq!(catch_up_to(&runner, last).await, 3);
    assert_eq!(totals(&db).await, [("t1".into(), 3), ("t2".into(), 3)]);
    let letters = runner.dead_letters().await.unwrap();
    assert_eq!(letters.len(), 1, "{letters:#?}");
    assert!(letters[0].error.contains("small"), "{letters:#?}");
    let status = runner.status().await.unwrap();
    assert_eq!((status.events_applied, status.events_parked), (3, 1));
}

/// Options out of range are refused when the runner is built, before any I/O.
#[tokio::test]
async fn options_out_of_range_are_refused_before_any_io() {
    let pool = sqlx::PgPool::connect_lazy("postgres://nobody@127.0.0.1:1/none").unwrap();
    for batch_size in [0, acci_core::MAX_READ_BATCH + 1] {
        let built = ProjectionRunner::<CountTotal>::new(pool.clone()).with_options(RunnerOptions {
            batch_size,
            ..RunnerOptions::default()
        });
        let refused = built.expect_err("refused");
        assert!(refused.to_string().contains("batch size"), "{refused}");
    }
}

/// On a database whose default isolation is SERIALIZABLE, racing appends through a
/// store whose pool was made from `pool_options` are typed conflicts, never a
/// serialization failure or a refusal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_appends_conflict_under_a_serializable_default() {
    let db = TestDatabase::create().await;
    let admin = db.pool_as(None, 1).await;
    sqlx::query(&format!(
        "ALTER DATABASE \"{}\" SET default_transaction_isolation = 'serializable'",
        db.name()
    ))
    .execute(&admin)
    .await
    .unwrap();
    let plain = db.pool_as(Some(APP_LOGIN), 1).await;
    let default: String = sqlx::query_scalar("SHOW transaction_isolation")
        .fetch_one(&plain)
        .await
        .unwrap();
    assert_eq!(default, "serializable", "the test's premise");

    let pool = PgEventStore::pool_options()
        .max_connections(8)
        .connect_with(db.options(Some(APP_LOGIN)))
        .await
        .unwrap();
    let store = PgEventStore::from_pool(pool);
    let s = stream("t1", "raced");
    let event = || NewEvent::from_event(&Counted { n: 1 }, Metadata::new()).unwrap();
    for round in 0..5u64 {
        let appends = (0..8).map(|_| {
            let (store, s, event) = (store.clone(), s.clone(), event());
            tokio::spawn(async move {
                let expected = if round == 0 {
                    ExpectedVersion::NoStream
                } else {
                    ExpectedVersion::Exactly(round)
                };
                store.append(&s, expected, vec![event], None).await
            })
        });
        let (mut appended, mut conflicts) = (0, 0);
        for append in appends.collect::<Vec<_>>() {
            match append.await.unwrap() {
                Ok(_) => appended += 1,
                Err(StoreError::Conflict(_)) => conflicts += 1,
                Err(other) => panic!("round {round}: expected a conflict, got {other:?}"),
            }
        }
        assert_eq!((appended, conflicts), (1, 7), "round {round}");
    }
}

/// A hand-written projection whose SQL fails for every event alike (a column dropped by
/// hand) parks nothing: `catch_up` returns the storage failure, not retryable, and the
/// events stay to be projected once the table is fixed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_that_fails_every_event_alike_parks_nothing() {
    let db = TestDatabase::create().await;
    let store = db.store().await;
    let admin = db.pool_as(None, 1).await;
    let custom = CustomProjectionRunner::new(db.pool_as(Some(READER_LOGIN), 4).await, CountLog)
        .with_options(options(FailurePolicy::Park))
        .unwrap();
    custom.prepare().await.unwrap();
    sqlx::query("ALTER TABLE read_models.count_log DROP COLUMN n")
        .execute(&admin)
        .await
        .unwrap();
    let last = count(&store, "t1", 1).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let error = loop {
        assert!(Instant::now() < deadline, "the event never came up");
        match custom.catch_up().await {
            Ok(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            Err(error) => break error,
        }
    };
    assert!(
        matches!(error, acci_postgres::RunnerError::Store(_)) && !error.is_retryable(),
        "{error:?}"
    );
    assert!(custom.dead_letters().await.unwrap().is_empty());
    sqlx::query("ALTER TABLE read_models.count_log ADD COLUMN n bigint")
        .execute(&admin)
        .await
        .unwrap();
    assert_eq!(catch_up_to(&custom, last).await, 1);
}
