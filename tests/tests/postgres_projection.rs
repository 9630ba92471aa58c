//! The PostgreSQL projection runner: exactly once under concurrent writers and crashes,
//! one active runner with takeover, poison events parked, read-your-writes.

// The domain types below exist for the tests; documenting each would add only noise.
#![allow(missing_docs)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use acci_core::projection::{ColumnSpec, ColumnType, Scalar, Scope, TableSpec};
use acci_core::query::{QueryError, ReadModels};
use acci_core::{
    AggregateId, AppendOutcome, DecodeError, EventKind, EventStore, ExpectedVersion, LogPosition,
    Metadata, NewEvent, Projection, ProjectionError, Recorded, StoredEvent, StreamId, TenantId,
    event,
};
use acci_postgres::projection::{CustomProjection, CustomProjectionRunner, HandleError};
use acci_postgres::{
    FailurePolicy, PgEventStore, PgReadModels, ProjectionRunner, RunnerError, RunnerOptions,
};
use acci_tests::pg::{APP_LOGIN, READER_LOGIN, TestDatabase};
use serde::{Deserialize, Serialize};

#[event]
pub struct Deposited {
    pub amount: i64,
}

/// Another event type the projection does not read.
#[event]
pub struct Renamed {
    pub name: String,
}

/// One row per account: its tenant, total and number of deposits. `FACTOR` makes a
/// second version of the read model (each deposit counted `FACTOR` times) for rebuilds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BalanceOf<const FACTOR: i64> {
    pub account: String,
    pub tenant: String,
    pub total: i64,
    pub deposits: i64,
}

const POISON: i64 = 666;

/// Set once the "bug" that makes poisoned deposits panic is fixed, to replay them.
static POISON_CURED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

static TABLE: TableSpec = TableSpec {
    name: "balances",
    scope: Scope::Tenant,
    columns: &[
        column("account", Scalar::Text, true, false),
        column("tenant", Scalar::Text, false, true),
        column("total", Scalar::BigInt, false, false),
        column("deposits", Scalar::BigInt, false, false),
    ],
};

const fn column(name: &'static str, scalar: Scalar, key: bool, index: bool) -> ColumnSpec {
    ColumnSpec {
        field: name,
        column: name,
        ty: ColumnType::scalar(scalar),
        nullable: false,
        key,
        index,
    }
}

/// The first version.
pub type Balance = BalanceOf<1>;

impl<const FACTOR: i64> Projection for BalanceOf<FACTOR> {
    const NAME: &'static str = "balances";
    const VERSION: u32 = FACTOR as u32;
    const EVENTS: &'static [EventKind] = &[EventKind::new("Account", "Deposited")];
    const TABLE: &'static TableSpec = &TABLE;
    type Key = String;
    type Event = Recorded<Deposited>;

    fn row_key(&self) -> String {
        self.account.clone()
    }

    fn key_object(key: &String) -> Result<serde_json::Value, serde_json::Error> {
        Ok(serde_json::json!({ "account": key }))
    }

    fn decode(event: StoredEvent) -> Result<Self::Event, DecodeError> {
        acci_core::__private::decode_recorded::<Deposited>(event)
    }

    fn event_key(event: &Self::Event) -> Result<String, ProjectionError> {
        Ok(event.stream.aggregate_id.to_string())
    }

    fn project_event(row: &mut Option<Self>, event: &Self::Event) {
        // The cure only ever reaches the replay test's own tenant, so tests running at the
        // same time keep their poison.
        let cured = POISON_CURED.load(std::sync::atomic::Ordering::SeqCst)
            && event.stream.tenant.as_str() == "t-replay";
        assert!(event.data.amount != POISON || cured, "a poisoned deposit");
        let row = row.get_or_insert_with(|| BalanceOf {
            account: event.stream.aggregate_id.to_string(),
            tenant: event.stream.tenant.to_string(),
            total: 0,
            deposits: 0,
        });
        row.total += event.data.amount * FACTOR;
        row.deposits += 1;
    }

    fn key_from_aggregate_id(id: &AggregateId) -> Result<String, String> {
        Ok(id.to_string())
    }
}

fn stream(tenant: &str, account: &str) -> StreamId {
    StreamId::new(
        TenantId::new(tenant).unwrap(),
        "Account",
        AggregateId::new(account).unwrap(),
    )
    .unwrap()
}

async fn deposit(store: &PgEventStore, tenant: &str, account: &str, amount: i64) -> LogPosition {
    let event = NewEvent::from_event(&Deposited { amount }, Metadata::new()).unwrap();
    match store
        .append(
            &stream(tenant, account),
            ExpectedVersion::Any,
            vec![event],
            None,
        )
        .await
        .unwrap()
    {
        AppendOutcome::Appended(appended) => appended.last_position,
        other => panic!("{other:?}"),
    }
}

async fn rows(db: &TestDatabase) -> BTreeMap<String, Balance> {
    let pool = db.pool_as(None, 1).await;
    let rows: Vec<serde_json::Value> =
        sqlx::query_scalar("SELECT to_jsonb(b) FROM read_models.balances b")
            .fetch_all(&pool)
            .await
            .unwrap();
    rows.into_iter()
        .map(|r| serde_json::from_value::<Balance>(r).unwrap())
        .map(|b| (b.account.clone(), b))
        .collect()
}

fn expected(deposits: &[(String, String, i64)]) -> BTreeMap<String, Balance> {
    let mut fold = BTreeMap::new();
    for (tenant, account, amount) in deposits {
        let row = fold.entry(account.clone()).or_insert_with(|| Balance {
            account: account.clone(),
            tenant: tenant.clone(),
            total: 0,
            deposits: 0,
        });
        row.total += amount;
        row.deposits += 1;
    }
    fold
}

/// Catches up until `position` is passed: the global log may trail its commits while other
/// tests' transactions are open on the same server, so one `catch_up` may find nothing yet.
async fn catch_up_to<M: acci_postgres::projection::RunnerModel>(
    runner: &acci_postgres::projection::Runner<M>,
    position: LogPosition,
) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut applied = 0;
    loop {
        applied += runner.catch_up().await.unwrap();
        if runner.wait_for(position, Duration::ZERO).await.unwrap() {
            return applied;
        }
        assert!(
            Instant::now() < deadline,
            "the log did not reach {position} in 30 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn options() -> RunnerOptions {
    RunnerOptions {
        batch_size: 7,
        poll_interval: Duration::from_millis(50),
        standby_interval: Duration::from_millis(50),
        failure: FailurePolicy::RetryThenPark {
            attempts: 2,
            backoff: Duration::from_millis(10),
        },
    }
}

async fn runner(db: &TestDatabase) -> ProjectionRunner<Balance> {
    ProjectionRunner::<Balance>::new(db.pool_as(Some(READER_LOGIN), 4).await)
        .with_options(options())
        .expect("valid options")
}

/// Writers append while the runner runs, and the runner is killed again and again (its
/// task aborted mid-batch, its connections terminated): afterwards the read model equals
/// a fold over all events, and each event was counted exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crashes_neither_lose_nor_repeat_events_under_concurrent_writers() {
    let db = TestDatabase::create().await;
    // Writers connect as another role, so terminating the runner's connections spares them.
    let store = Arc::new(PgEventStore::from_pool(
        db.pool_as(Some(APP_LOGIN), 4).await,
    ));
    let runner = runner(&db).await;
    runner.prepare().await.unwrap();

    let writers: Vec<_> = (0..4)
        .map(|w| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let mut written = Vec::new();
                for n in 0..60 {
                    // Each account belongs to one tenant.
                    let index = (w * 7 + n) % 10;
                    let (tenant, account) = (format!("t{}", index % 2), format!("acc-{index}"));
                    let amount = (w * 100 + n) as i64;
                    deposit(&store, &tenant, &account, amount).await;
                    written.push((tenant, account, amount));
                }
                written
            })
        })
        .collect();

    // Kill the runner a few times while the writers work.
    for round in 0..5 {
        let worker = runner.clone();
        let task = tokio::spawn(async move { worker.run(std::future::pending()).await });
        tokio::time::sleep(Duration::from_millis(40 + round * 15)).await;
        task.abort();
        let _ = task.await;
        if round % 2 == 1 {
            db.terminate_connections_of(READER_LOGIN).await;
        }
    }
    let mut all = Vec::new();
    for writer in writers {
        all.extend(writer.await.unwrap());
    }

    let last = deposit(&store, "t0", "acc-final", 1).await;
    all.push(("t0".into(), "acc-final".into(), 1));
    let worker = runner.clone();
    let task = tokio::spawn(async move { worker.run(std::future::pending()).await });
    assert!(
        runner
            .wait_for(last, Duration::from_secs(60))
            .await
            .unwrap(),
        "the runner caught up"
    );
    task.abort();

    assert_eq!(rows(&db).await, expected(&all));
    let status = runner.status().await.unwrap();
    assert_eq!(
        status.events_applied,
        all.len() as u64,
        "every event counted exactly once"
    );
    assert_eq!(status.lag_events, 0);
}

/// Two runners for one projection: one is active, the other waits; when the active one
/// dies, the other takes over and goes on from the checkpoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_runner_is_active_and_a_standby_takes_over() {
    let db = TestDatabase::create().await;
    let store = db.store().await;
    let first = runner(&db).await;
    let second = runner(&db).await;
    first.prepare().await.unwrap();

    let a = {
        let r = first.clone();
        tokio::spawn(async move { r.run(std::future::pending()).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let b = {
        let r = second.clone();
        tokio::spawn(async move { r.run(std::future::pending()).await })
    };
    let position = deposit(&store, "t1", "acc", 5).await;
    assert!(
        first
            .wait_for(position, Duration::from_secs(30))
            .await
            .unwrap()
    );

    let admin = db.pool_as(None, 1).await;
    let holders: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
         WHERE l.locktype = 'advisory' AND l.granted AND a.datname = current_database()",
    )
    .fetch_one(&admin)
    .await
    .unwrap();
    assert_eq!(holders, 1, "exactly one runner holds the projection lock");

    a.abort();
    let _ = a.await;
    let position = deposit(&store, "t1", "acc", 7).await;
    assert!(
        second
            .wait_for(position, Duration::from_secs(30))
            .await
            .unwrap(),
        "the standby took over"
    );
    b.abort();
    assert_eq!(rows(&db).await["acc"].total, 12);
    assert_eq!(second.status().await.unwrap().events_applied, 2);
}

/// An event whose projection panics is retried, then parked, and the events after it
/// still project; the dead letter names it and its error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_event_is_parked_while_later_events_project() {
    let db = TestDatabase::create().await;
    let store = db.store().await;
    let runner = runner(&db).await;
    deposit(&store, "t1", "acc", 10).await;
    deposit(&store, "t1", "acc", POISON).await;
    let last = deposit(&store, "t1", "acc", 5).await;

    let task = {
        let r = runner.clone();
        tokio::spawn(async move { r.run(std::future::pending()).await })
    };
    assert!(
        runner
            .wait_for(last, Duration::from_secs(30))
            .await
            .unwrap()
    );
    task.abort();

    assert_eq!(rows(&db).await["acc"].total, 15);
    let parked = runner.dead_letters().await.unwrap();
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].event_type, "Deposited");
    assert_eq!(parked[0].attempts, 2);
    assert!(
        parked[0].error.contains("a poisoned deposit"),
        "{}",
        parked[0].error
    );
    let status = runner.status().await.unwrap();
    assert_eq!((status.events_applied, status.events_parked), (2, 1));
}

/// A caller that appended waits for the projection to reach its event, then reads its
/// own write; a position of an event type the projection does not read is reached too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_your_writes_with_a_timeout() {
    let db = TestDatabase::create().await;
    let store = db.store().await;
    let runner = runner(&db).await;
    runner.prepare().await.unwrap();
    let position = deposit(&store, "t1", "acc", 3).await;
    assert!(
        !runner
            .wait_for(position, Duration::from_millis(100))
            .await
            .unwrap(),
        "nobody runs it yet"
    );

    let task = {
        let r = runner.clone();
        tokio::spawn(async move { r.run(std::future::pending()).await })
    };
    // The application's own role waits, as a request handler would.
    let app = ProjectionRunner::<Balance>::new(db.pool_as(Some(APP_LOGIN), 1).await);
    assert!(
        app.wait_for(position, Duration::from_secs(30))
            .await
            .unwrap()
    );
    assert_eq!(rows(&db).await["acc"].total, 3);

    let renamed = NewEvent::from_event(&Renamed { name: "x".into() }, Metadata::new()).unwrap();
    let AppendOutcome::Appended(other) = store
        .append(
            &stream("t1", "acc"),
            ExpectedVersion::Any,
            vec![renamed],
            None,
        )
        .await
        .unwrap()
    else {
        panic!("appended")
    };
    assert!(
        runner
            .wait_for(other.last_position, Duration::from_secs(30))
            .await
            .unwrap(),
        "the runner passes events of other types"
    );
    task.abort();
    let started = Instant::now();
    assert_eq!(runner.status().await.unwrap().events_applied, 1);
    assert!(started.elapsed() < Duration::from_secs(30));
}

/// A new version of the read model is rebuilt beside the live one while readers keep
/// reading: every read sees either the whole old model or the whole new one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_version_rebuilds_while_readers_read() {
    let db = TestDatabase::create().await;
    let store = db.store().await;
    let mut last = LogPosition::START;
    for n in 0..300 {
        last = deposit(&store, "t1", &format!("acc-{}", n % 20), 1).await;
    }
    let v1 = runner(&db).await;
    let task = {
        let r = v1.clone();
        tokio::spawn(async move { r.run(std::future::pending()).await })
    };
    assert!(v1.wait_for(last, Duration::from_secs(30)).await.unwrap());
    task.abort();
    let _ = task.await;

    // Readers, as the application role of the tenant t1, sum the read model the whole
    // time (the rebuilt table keeps the live one's row-level security).
    let readers = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect_with(
            db.options(Some(APP_LOGIN))
                .options([("acci.tenant_id", "t1")]),
        )
        .await
        .unwrap();
    let reading = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let reader = {
        let (pool, reading) = (readers.clone(), Arc::clone(&reading));
        tokio::spawn(async move {
            let mut seen = std::collections::BTreeSet::new();
            while reading.load(std::sync::atomic::Ordering::SeqCst) {
                let sum: i64 = sqlx::query_scalar(
                    "SELECT coalesce(sum(total), 0)::bigint FROM read_models.balances",
                )
                .fetch_one(&pool)
                .await
                .expect("the read model is readable throughout");
                seen.insert(sum);
            }
            seen
        })
    };

    let v2 = ProjectionRunner::<BalanceOf<2>>::new(db.pool_as(Some(READER_LOGIN), 4).await)
        .with_options(options())
        .expect("valid options");
    v2.prepare().await.unwrap();
    reading.store(false, std::sync::atomic::Ordering::SeqCst);
    let seen = reader.await.unwrap();
    assert!(
        seen.iter().all(|sum| *sum == 300 || *sum == 600),
        "a reader saw a partial model: {seen:?}"
    );
    let after: i64 = sqlx::query_scalar("SELECT sum(total)::bigint FROM read_models.balances")
        .fetch_one(&readers)
        .await
        .unwrap();
    assert_eq!(after, 600);
    let unbound: i64 = sqlx::query_scalar("SELECT count(*) FROM read_models.balances")
        .fetch_one(&db.pool_as(Some(APP_LOGIN), 1).await)
        .await
        .unwrap();
    assert_eq!(
        unbound, 0,
        "the rebuilt table is under row-level security too"
    );
    let status = v2.status().await.unwrap();
    assert_eq!(
        (status.version, status.events_applied, status.lag_events),
        (2, 300, 0)
    );
    // An older build that starts later stays out of the way instead of rebuilding back.
    let refused = runner(&db).await.prepare().await.unwrap_err();
    assert!(
        matches!(
            refused,
            RunnerError::NewerVersion {
                projection: "balances",
                stored: 2,
                build: 1
            }
        ),
        "{refused:?}"
    );
    assert!(!refused.is_retryable());
}

/// The query side reads the read model by key, by page and by an indexed column, as the
/// application role, one tenant at a time, and answers with the query errors.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_models_answer_by_key_page_and_index() {
    let db = TestDatabase::create().await;
    let store = db.store().await;
    let models = PgReadModels::connect_with(db.options(Some(APP_LOGIN)))
        .await
        .unwrap();
    let (t0, t1) = (TenantId::new("t0").unwrap(), TenantId::new("t1").unwrap());
    match models.get::<Balance>(Some(&t0), &"acc-0".to_owned()).await {
        Err(QueryError::Projection { projection, .. }) => assert_eq!(projection, "balances"),
        other => panic!("expected the projection to be missing, got {other:?}"),
    }

    for n in 0..10 {
        deposit(&store, &format!("t{}", n % 2), &format!("acc-{n}"), n).await;
    }
    // Two tenants' aggregates with the same id: two rows, never one.
    deposit(&store, "t0", "shared", 100).await;
    let last = deposit(&store, "t1", "shared", 7).await;
    let runner = runner(&db).await;
    catch_up_to(&runner, last).await;

    let get = |tenant: &TenantId, key: &str| {
        let (models, tenant, key) = (models.clone(), tenant.clone(), key.to_owned());
        async move { models.get::<Balance>(Some(&tenant), &key).await.unwrap() }
    };
    assert_eq!(get(&t1, "acc-3").await.unwrap().total, 3);
    assert_eq!(get(&t0, "acc-3").await, None, "t1's row is not t0's");
    assert_eq!(get(&t0, "shared").await.unwrap().total, 100);
    assert_eq!(get(&t1, "shared").await.unwrap().total, 7);
    assert!(matches!(
        models.require::<Balance>(Some(&t1), &"nobody".to_owned()).await,
        Err(QueryError::NotFound { what }) if what.contains("nobody")
    ));
    let first = models.page::<Balance>(Some(&t1), None, 4).await.unwrap();
    let accounts: Vec<&str> = first.iter().map(|b| b.account.as_str()).collect();
    assert_eq!(accounts, ["acc-1", "acc-3", "acc-5", "acc-7"]);
    let next = models
        .page::<Balance>(Some(&t1), Some(&first[3].account), 4)
        .await
        .unwrap();
    let accounts: Vec<&str> = next.iter().map(|b| b.account.as_str()).collect();
    assert_eq!(accounts, ["acc-9", "shared"]);
    let found = models
        .find_by::<Balance>(Some(&t1), "tenant", &serde_json::json!("t1"), 100)
        .await
        .unwrap();
    assert_eq!(found.len(), 6);
    assert!(found.iter().all(|b| b.tenant == "t1"));
    let found = models
        .find_by::<Balance>(Some(&t0), "tenant", &serde_json::json!("t1"), 100)
        .await
        .unwrap();
    assert!(found.is_empty(), "t0 finds none of t1's rows: {found:?}");
    assert!(matches!(
        models.get::<Balance>(None, &"acc-3".to_owned()).await,
        Err(QueryError::Validation(v)) if v.to_string().contains("tenant-scoped")
    ));
    assert!(matches!(
        models.find_by::<Balance>(Some(&t1), "total", &serde_json::json!(3), 10).await,
        Err(QueryError::Validation(v)) if v.to_string().contains("indexed columns: `tenant`")
    ));
    assert!(matches!(
        models.page::<Balance>(Some(&t1), None, 0).await,
        Err(QueryError::Validation(_))
    ));
    // What PostgreSQL cannot hold is refused before the query, not by the database.
    assert!(matches!(
        models.find_by::<Balance>(Some(&t1), "tenant", &serde_json::json!("t\u{0}1"), 10).await,
        Err(QueryError::Validation(v)) if v.to_string().contains("U+0000")
    ));
    assert!(matches!(
        models.get::<Balance>(Some(&t1), &"acc\u{0}".to_owned()).await,
        Err(QueryError::Validation(v)) if v.to_string().contains("key of")
    ));
}

/// The application's login reads read-model rows and dead letters of the tenant its
/// session names, whatever its SQL forgets, and never a checkpoint's error text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_application_login_reads_only_its_tenants_rows_and_dead_letters() {
    let db = TestDatabase::create().await;
    let store = db.store().await;
    deposit(&store, "t-a", "acc", 1).await;
    deposit(&store, "t-b", "acc", 2).await;
    let last = deposit(&store, "t-b", "acc", POISON).await;
    let runner = runner(&db).await;
    let task = {
        let r = runner.clone();
        tokio::spawn(async move { r.run(std::future::pending()).await })
    };
    assert!(
        runner
            .wait_for(last, Duration::from_secs(30))
            .await
            .unwrap()
    );
    task.abort();
    assert_eq!(runner.dead_letters().await.unwrap().len(), 1);

    let app = db.pool_as(Some(APP_LOGIN), 1).await;
    let count = |tenant: Option<&'static str>, sql: &'static str| {
        let app = app.clone();
        async move {
            let mut tx = app.begin().await.unwrap();
            if let Some(tenant) = tenant {
                sqlx::query("SELECT set_config('acci.tenant_id', $1, true)")
                    .bind(tenant)
                    .execute(&mut *tx)
                    .await
                    .unwrap();
            }
            let n: i64 = sqlx::query_scalar(sql).fetch_one(&mut *tx).await.unwrap();
            n
        }
    };
    const ROWS: &str = "SELECT count(*) FROM read_models.balances";
    const LETTERS: &str = "SELECT count(*) FROM projections.dead_letters";
    assert_eq!(count(None, ROWS).await, 0, "no tenant bound, no rows");
    assert_eq!(count(Some("t-a"), ROWS).await, 1);
    assert_eq!(
        count(
            Some("t-a"),
            "SELECT count(*) FROM read_models.balances WHERE tenant = 't-b'"
        )
        .await,
        0,
        "t-a's session cannot read t-b's row"
    );
    assert_eq!(count(None, LETTERS).await, 0);
    assert_eq!(
        count(Some("t-a"), LETTERS).await,
        0,
        "t-b's dead letter is not t-a's"
    );
    assert_eq!(count(Some("t-b"), LETTERS).await, 1);

    // Positions yes, error text no: it may quote any tenant's event.
    let position: Option<i64> =
        sqlx::query_scalar("SELECT position FROM projections.checkpoints WHERE name = 'balances'")
            .fetch_optional(&app)
            .await
            .unwrap();
    assert!(position.is_some());
    match sqlx::query("SELECT last_error FROM projections.checkpoints")
        .fetch_all(&app)
        .await
    {
        Err(sqlx::Error::Database(e)) => assert_eq!(e.code().as_deref(), Some("42501")),
        other => panic!("expected permission denied, got {other:?}"),
    }
}

/// Parked events can be replayed once the projection is fixed: they project, leave the
/// dead-letter table and count as applied; the checkpoint stays where it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parked_events_are_replayed_once_the_projection_is_fixed() {
    let db = TestDatabase::create().await;
    let store = db.store().await;
    let runner = runner(&db)
        .await
        .with_options(RunnerOptions {
            failure: FailurePolicy::Park,
            ..options()
        })
        .expect("valid options");
    // Another tenant's account, so this test's poison never meets the other tests' cure.
    deposit(&store, "t-replay", "acc", 1).await;
    let last = deposit(&store, "t-replay", "acc", POISON).await;
    catch_up_to(&runner, last).await;
    assert_eq!(runner.dead_letters().await.unwrap().len(), 1);
    assert_eq!(rows(&db).await["acc"].total, 1);

    POISON_CURED.store(true, std::sync::atomic::Ordering::SeqCst);
    let replayed = runner.replay_dead_letters().await.unwrap();
    POISON_CURED.store(false, std::sync::atomic::Ordering::SeqCst);
    assert_eq!((replayed.applied, replayed.still_failing), (1, 0));
    assert!(runner.dead_letters().await.unwrap().is_empty());
    assert_eq!(rows(&db).await["acc"].total, 1 + POISON);
    let status = runner.status().await.unwrap();
    assert_eq!((status.events_applied, status.events_parked), (2, 0));
}

/// A hand-written projection over a table of its own: each event with the batch's
/// transaction, counted exactly once, by the same runner.
struct DepositsPerTenant;

#[async_trait::async_trait]
impl CustomProjection for DepositsPerTenant {
    const NAME: &'static str = "deposits_per_tenant";
    const VERSION: u32 = 1;
    const EVENTS: &'static [EventKind] = &[EventKind::new("Account", "Deposited")];
    const TABLES: &'static [&'static str] = &["deposits_per_tenant"];

    async fn setup(&self, tx: &mut sqlx::PgConnection) -> Result<(), sqlx::Error> {
        sqlx::query("CREATE TABLE IF NOT EXISTS deposits_per_tenant (tenant text PRIMARY KEY, total bigint NOT NULL)")
            .execute(&mut *tx)
            .await
            .map(|_| ())
    }

    async fn handle(
        &self,
        event: &StoredEvent,
        tx: &mut sqlx::PgConnection,
    ) -> Result<(), HandleError> {
        sqlx::query(
            "INSERT INTO deposits_per_tenant VALUES ($1, $2) \
             ON CONFLICT (tenant) DO UPDATE SET total = deposits_per_tenant.total + EXCLUDED.total",
        )
        .bind(event.stream.tenant.as_str())
        .bind(event.data["amount"].as_i64().unwrap_or(0))
        .execute(&mut *tx)
        .await?;
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custom_projection_runs_with_the_same_guarantees() {
    let db = TestDatabase::create().await;
    let store = db.store().await;
    let mut last = LogPosition::START;
    for n in 0..20 {
        last = deposit(&store, &format!("t{}", n % 3), &format!("acc-{n}"), n).await;
    }
    let runner =
        CustomProjectionRunner::new(db.pool_as(Some(READER_LOGIN), 4).await, DepositsPerTenant)
            .with_options(options())
            .expect("valid options");
    assert_eq!(catch_up_to(&runner, last).await, 20);
    assert_eq!(runner.catch_up().await.unwrap(), 0, "nothing counted twice");
    let admin = db.pool_as(None, 1).await;
    let totals: Vec<(String, i64)> =
        sqlx::query_as("SELECT tenant, total FROM read_models.deposits_per_tenant ORDER BY tenant")
            .fetch_all(&admin)
            .await
            .unwrap();
    let expected: Vec<(String, i64)> = (0..3)
        .map(|t| (format!("t{t}"), (0..20).filter(|n| n % 3 == t).sum::<i64>()))
        .collect();
    assert_eq!(totals, expected);
    let rebuilt = runner.rebuild().await.unwrap();
    assert_eq!(
        rebuilt, 20,
        "a rebuild replays every event into fresh tables"
    );
    let after: i64 =
        sqlx::query_scalar("SELECT sum(total)::bigint FROM read_models.deposits_per_tenant")
            .fetch_one(&admin)
            .await
            .unwrap();
    assert_eq!(after, (0..20).sum::<i64>());
}

/// Under the skip policy a failing event is counted and left out, and later events still
/// project.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_skipped_event_is_counted_and_left_out() {
    let db = TestDatabase::create().await;
    let store = db.store().await;
    let runner = runner(&db)
        .await
        .with_options(RunnerOptions {
            failure: FailurePolicy::Skip,
            ..options()
        })
        .expect("valid options");
    deposit(&store, "t1", "acc", 2).await;
    deposit(&store, "t1", "acc", POISON).await;
    let last = deposit(&store, "t1", "acc", 3).await;
    catch_up_to(&runner, last).await;
    assert_eq!(rows(&db).await["acc"].total, 5);
    assert!(runner.dead_letters().await.unwrap().is_empty());
    let status = runner.status().await.unwrap();
    assert_eq!(
        (
            status.events_applied,
            status.events_parked,
            status.events_skipped
        ),
        (2, 0, 1)
    );
}
