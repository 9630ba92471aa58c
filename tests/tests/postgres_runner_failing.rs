//! Runners that fail loudly, not forever: a database error that no retry cures and no
//! event is to blame for shows in the status and parks nothing; a row the table refuses
//! is pinned on its event and parked; options out of range are refused before any I/O.

// The domain types below exist for the tests; documenting each would add only noise.
#![allow(missing_docs)]

mod counting;

use std::time::{Duration, Instant};

use acci_postgres::projection::{
    CustomProjectionRunner, ProjectionState, Runner, RunnerModel, RunnerStatus,
};
use acci_postgres::{FailurePolicy, ProjectionRunner, RunnerOptions};
use acci_tests::pg::{READER_LOGIN, TestDatabase};
use counting::{CountLog, CountTotal, RETRY, catch_up_to, count, options, totals};

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
