//! The runner's typed errors: a database blip inside a projection is retried, never
//! parked; the projection's own failures count toward the failure policy; callers match
//! on what went wrong.

// The domain types below exist for the tests; documenting each would add only noise.
#![allow(missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use acci_core::{
    AggregateId, AppendOutcome, EventKind, EventStore, ExpectedVersion, LogPosition, Metadata,
    NewEvent, StoredEvent, StreamId, TenantId, event,
};
use acci_postgres::projection::{
    CustomProjection, CustomProjectionRunner, EventFailure, HandleError,
};
use acci_postgres::{FailurePolicy, PgEventStore, RunnerError, RunnerOptions};
use acci_tests::pg::{READER_LOGIN, TestDatabase};

#[event]
pub struct Deposited {
    pub amount: i64,
}

/// An amount whose SQL fails every time: the event's own failure.
const BROKEN: i64 = 13;
/// An amount the handler panics on: the event's own failure too.
const PANICS: i64 = 666;

/// Sums deposits per account. The first `blips` events it sees fail with a serialization
/// failure (a transient database error); a deposit of [`BROKEN`] divides by zero.
struct Flaky {
    blips: Arc<AtomicU32>,
}

#[async_trait::async_trait]
impl CustomProjection for Flaky {
    const NAME: &'static str = "flaky_totals";
    const VERSION: u32 = 1;
    const EVENTS: &'static [EventKind] = &[EventKind::new("Account", "Deposited")];
    const TABLES: &'static [&'static str] = &["flaky_totals"];

    async fn setup(&self, tx: &mut sqlx::PgConnection) -> Result<(), sqlx::Error> {
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS flaky_totals (account text PRIMARY KEY, total bigint NOT NULL)",
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
        let blip = self
            .blips
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if blip {
            sqlx::query(
                "DO $$ BEGIN RAISE EXCEPTION 'a blip' USING ERRCODE = 'serialization_failure'; END $$",
            )
            .execute(&mut *tx)
            .await?;
        }
        let amount = event.data["amount"].as_i64().unwrap_or(0);
        assert_ne!(amount, PANICS, "a panicking handler");
        sqlx::query(
            "INSERT INTO flaky_totals VALUES ($1, $2 / CASE WHEN $2 = $3 THEN 0 ELSE 1 END) \
             ON CONFLICT (account) DO UPDATE SET total = flaky_totals.total + EXCLUDED.total",
        )
        .bind(event.stream.aggregate_id.as_str())
        .bind(amount)
        .bind(BROKEN)
        .execute(&mut *tx)
        .await?;
        Ok(())
    }
}

async fn deposit(store: &PgEventStore, account: &str, amount: i64) -> LogPosition {
    let stream = StreamId::new(
        TenantId::new("t1").unwrap(),
        "Account",
        AggregateId::new(account).unwrap(),
    )
    .unwrap();
    let event = NewEvent::from_event(&Deposited { amount }, Metadata::new()).unwrap();
    match store
        .append(&stream, ExpectedVersion::Any, vec![event], None)
        .await
        .unwrap()
    {
        AppendOutcome::Appended(appended) => appended.last_position,
        other => panic!("{other:?}"),
    }
}

async fn runner(
    db: &TestDatabase,
    blips: u32,
    failure: FailurePolicy,
) -> CustomProjectionRunner<Flaky> {
    let flaky = Flaky {
        blips: Arc::new(AtomicU32::new(blips)),
    };
    CustomProjectionRunner::new(db.pool_as(Some(READER_LOGIN), 4).await, flaky)
        .with_options(RunnerOptions {
            batch_size: 10,
            poll_interval: Duration::from_millis(50),
            standby_interval: Duration::from_millis(50),
            failure,
        })
        .expect("valid options")
}

async fn totals(db: &TestDatabase) -> Vec<(String, i64)> {
    sqlx::query_as("SELECT account, total FROM read_models.flaky_totals ORDER BY account")
        .fetch_all(&db.pool_as(None, 1).await)
        .await
        .unwrap()
}

/// Runs `runner` in the background until it has passed `position`.
async fn run_until<C: CustomProjection>(runner: &CustomProjectionRunner<C>, position: LogPosition) {
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
    let reached = runner
        .wait_for(position, Duration::from_secs(30))
        .await
        .unwrap();
    stop.send(()).unwrap();
    task.await.unwrap().unwrap();
    assert!(reached, "the runner did not reach {position} in 30 s");
}

/// Under a policy that parks at the first failure, a transient database error inside the
/// projection is retried instead: nothing is parked and every event projects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transient_database_error_in_a_custom_projection_is_retried_not_parked() {
    let db = TestDatabase::create().await;
    let store = db.store().await;
    deposit(&store, "a", 5).await;
    let last = deposit(&store, "b", 7).await;
    let runner = runner(&db, 2, FailurePolicy::Park).await;

    // The log may trail the appends while other tests' transactions are open, so one
    // `catch_up` may find nothing yet.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let blip = loop {
        match runner.catch_up().await {
            Err(error) => break error,
            Ok(0) if std::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Ok(applied) => panic!("applied {applied} events through a blip"),
        }
    };
    assert!(
        matches!(&blip, RunnerError::Store(_)) && blip.is_retryable(),
        "a storage failure the caller may retry: {blip:?}"
    );
    run_until(&runner, last).await;

    assert!(runner.dead_letters().await.unwrap().is_empty());
    let status = runner.status().await.unwrap();
    assert_eq!((status.events_applied, status.events_parked), (2, 0));
    assert_eq!(totals(&db).await, [("a".into(), 5), ("b".into(), 7)]);
}

/// SQL that fails for the event itself (not a blip), and a panic in the handler, are the
/// event's failures: each is parked with its error, and the events after it project.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_that_always_fails_or_a_panic_is_the_events_own_failure() {
    let db = TestDatabase::create().await;
    let store = db.store().await;
    deposit(&store, "a", 5).await;
    deposit(&store, "a", BROKEN).await;
    deposit(&store, "a", PANICS).await;
    let last = deposit(&store, "a", 7).await;
    let runner = runner(&db, 0, FailurePolicy::Park).await;
    run_until(&runner, last).await;

    let parked = runner.dead_letters().await.unwrap();
    assert_eq!(parked.len(), 2, "{parked:?}");
    assert!(parked[0].error.contains("division by zero"), "{parked:?}");
    assert!(parked[1].error.contains("panicked"), "{parked:?}");
    assert_eq!(totals(&db).await, [("a".into(), 12)]);
}

/// Under the stop policy the runner returns where it stopped and why, typed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_runner_says_at_which_event_and_why() {
    let db = TestDatabase::create().await;
    let store = db.store().await;
    // One append, so both events are in one transaction and so in one batch, whatever
    // other transactions on the server do to the log's horizon meanwhile.
    let stream = StreamId::new(
        TenantId::new("t1").unwrap(),
        "Account",
        AggregateId::new("a").unwrap(),
    )
    .unwrap();
    let events = [5, BROKEN]
        .map(|amount| NewEvent::from_event(&Deposited { amount }, Metadata::new()).unwrap());
    let broken = match store
        .append(&stream, ExpectedVersion::Any, events.into(), None)
        .await
        .unwrap()
    {
        AppendOutcome::Appended(appended) => appended.last_position,
        other => panic!("{other:?}"),
    };
    let runner = runner(&db, 0, FailurePolicy::Stop).await;
    let stopped = tokio::time::timeout(Duration::from_secs(30), runner.run(std::future::pending()))
        .await
        .expect("the runner stops by itself")
        .unwrap_err();
    match stopped {
        RunnerError::Stopped {
            projection,
            position,
            error: EventFailure::Database(_),
            ..
        } => assert_eq!((projection, position), ("flaky_totals", broken)),
        other => panic!("expected a stop at the broken event: {other:?}"),
    }
    assert!(!RunnerError::NotPrepared { projection: "x" }.is_retryable());
    assert!(
        totals(&db).await.is_empty(),
        "the batch it was in did not commit"
    );
    assert!(runner.status().await.unwrap().position < broken);
}

/// A projection that was never prepared has no status, and says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_before_prepare_is_not_prepared() {
    let db = TestDatabase::create().await;
    let runner = runner(&db, 0, FailurePolicy::Park).await;
    assert!(matches!(
        runner.status().await,
        Err(RunnerError::NotPrepared {
            projection: "flaky_totals"
        })
    ));
}

/// Every public async fn of a runner returns a `Send` future, for `#[projection]` read
/// models and hand-written ones alike (compiling is the test).
#[allow(dead_code)]
fn runner_futures_are_send<M: acci_postgres::projection::RunnerModel>(
    runner: &acci_postgres::projection::Runner<M>,
) {
    fn boxed<'a, T>(future: std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>) {
        drop(future);
    }
    boxed(Box::pin(runner.prepare()));
    boxed(Box::pin(runner.rebuild()));
    boxed(Box::pin(runner.catch_up()));
    boxed(Box::pin(runner.run(std::future::pending())));
    boxed(Box::pin(runner.status()));
    boxed(Box::pin(
        runner.wait_for(LogPosition::START, Duration::ZERO),
    ));
    boxed(Box::pin(runner.dead_letters()));
    boxed(Box::pin(runner.replay_dead_letters()));
}
