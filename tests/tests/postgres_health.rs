//! The health report of the PostgreSQL store: the database, a heartbeat write, the
//! projections' leases, lag against the log's head, frozen checkpoints and the
//! transaction holding the log's horizon.

// The domain types below exist for the tests; documenting each would add only noise.
#![allow(missing_docs)]

use std::time::{Duration, Instant};

use acci_core::prelude::*;
use acci_core::{AppendOutcome, LogPosition, NewEvent, StreamId};
use acci_postgres::health::{
    HealthCheck, HealthReport, HealthRules, HealthStatus, ProjectionTarget,
};
use acci_postgres::{PgEventStore, ProjectionRunner};
use acci_tests::pg::{APP_LOGIN, READER_LOGIN, TestDatabase};
use sqlx::{Connection, Executor};

#[event]
pub struct Paid {
    pub amount: i64,
}

#[projection(table = "health_totals", events(Paid))]
pub struct Total {
    #[projection(key)]
    pub account: String,
    pub total: i64,
}

impl Project<Paid> for Total {
    fn project(row: &mut Option<Self>, event: &Recorded<Paid>) {
        let row = row.get_or_insert_with(|| Total {
            account: event.stream.aggregate_id.to_string(),
            total: 0,
        });
        row.total += event.data.amount;
    }
}

async fn pay(store: &PgEventStore, account: &str) -> LogPosition {
    let stream = StreamId::new(
        TenantId::new("t-health").unwrap(),
        "Account",
        AggregateId::new(account).unwrap(),
    )
    .unwrap();
    let event = NewEvent::from_event(&Paid { amount: 1 }, Metadata::new()).unwrap();
    match store
        .append(&stream, ExpectedVersion::Any, vec![event], None)
        .await
        .unwrap()
    {
        AppendOutcome::Appended(appended) => appended.last_position,
        other => panic!("{other:?}"),
    }
}

fn check<'r>(report: &'r HealthReport, name: &str) -> &'r acci_postgres::health::CheckResult {
    report
        .checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no check `{name}` in {report:#?}"))
}

async fn eventually(what: &str, mut probe: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !probe().await {
        assert!(Instant::now() < deadline, "{what}: not within 30 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_projection_is_ready_only_while_a_runner_holds_its_lease() {
    let database = TestDatabase::create().await;
    let store = PgEventStore::from_pool(database.pool_as(Some(APP_LOGIN), 4).await);
    let runner = ProjectionRunner::<Total>::new(database.pool_as(Some(READER_LOGIN), 4).await);
    let health = HealthCheck::new(
        database.pool_as(Some(APP_LOGIN), 2).await,
        [ProjectionTarget::from(&runner)],
    )
    .with_instance("health-test");

    let report = health.check().await;
    assert_eq!(report.status, HealthStatus::NotReady, "{report:#?}");
    for name in ["database", "writable", "log_horizon"] {
        assert_eq!(
            check(&report, name).status,
            HealthStatus::Ready,
            "{report:#?}"
        );
    }
    let projection = check(&report, "projection:health_totals");
    assert!(
        projection
            .reason
            .as_deref()
            .unwrap()
            .contains("no checkpoint"),
        "{projection:?}"
    );

    let position = pay(&store, "a-1").await;
    let task = tokio::spawn({
        let runner = runner.clone();
        async move { runner.run(std::future::pending()).await }
    });
    assert!(
        runner
            .wait_for(position, Duration::from_secs(30))
            .await
            .unwrap()
    );
    let report = health.check().await;
    assert_eq!(report.status, HealthStatus::Ready, "{report:#?}");
    let reading = check(&report, "projection:health_totals")
        .projection
        .clone()
        .unwrap();
    assert!(reading.leased);
    assert_eq!(reading.lag_events, 0);
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["status"], "ready");

    // The heartbeat went through the store's function.
    let mut admin = sqlx::PgConnection::connect_with(&database.options(None))
        .await
        .unwrap();
    let beats: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM event_store.heartbeats WHERE instance = 'health-test'",
    )
    .fetch_one(&mut admin)
    .await
    .unwrap();
    assert_eq!(beats, 1);

    // The runner dies: its lease goes with its connection, and events wait.
    task.abort();
    let _ = task.await;
    pay(&store, "a-1").await;
    pay(&store, "a-2").await;
    eventually("the lease is released", async || {
        !health
            .check()
            .await
            .checks
            .iter()
            .any(|c| c.projection.as_ref().is_some_and(|p| p.leased))
    })
    .await;
    let report = health.check().await;
    assert_eq!(report.status, HealthStatus::NotReady, "{report:#?}");
    let projection = check(&report, "projection:health_totals");
    assert!(
        projection.reason.as_deref().unwrap().contains("lease"),
        "{projection:?}"
    );
    assert_eq!(projection.projection.as_ref().unwrap().lag_events, 2);
    assert!(!report.problems().is_empty());
}

#[tokio::test]
async fn lag_is_measured_against_the_log_head_while_a_long_transaction_holds_the_horizon() {
    let database = TestDatabase::create().await;
    let store = PgEventStore::from_pool(database.pool_as(Some(APP_LOGIN), 4).await);
    let runner = ProjectionRunner::<Total>::new(database.pool_as(Some(READER_LOGIN), 4).await);
    let app = database.pool_as(Some(APP_LOGIN), 2).await;
    let health = HealthCheck::new(app.clone(), [ProjectionTarget::from(&runner)]);
    let task = tokio::spawn({
        let runner = runner.clone();
        async move { runner.run(std::future::pending()).await }
    });
    let position = pay(&store, "a-1").await;
    assert!(
        runner
            .wait_for(position, Duration::from_secs(30))
            .await
            .unwrap()
    );

    // A transaction that took an id and stays open holds every reader of the log back.
    let mut long = sqlx::PgConnection::connect_with(&database.options(Some(APP_LOGIN)))
        .await
        .unwrap();
    long.execute("BEGIN").await.unwrap();
    long.execute("SELECT pg_current_xact_id()").await.unwrap();
    pay(&store, "a-2").await;
    pay(&store, "a-3").await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Against the horizon the runner reads up to, nothing waits; against the head, two.
    let status = runner.status().await.unwrap();
    assert_eq!(status.lag_events, 0, "the horizon hides the waiting events");
    let strict = health.clone().with_rules(HealthRules {
        frozen_after: Duration::ZERO,
        max_horizon_age: Duration::ZERO,
        ..HealthRules::default()
    });
    let report = strict.check().await;
    let projection = check(&report, "projection:health_totals");
    assert_eq!(
        projection.projection.as_ref().unwrap().lag_events,
        2,
        "{report:#?}"
    );
    assert_eq!(projection.status, HealthStatus::NotReady, "{report:#?}");
    assert!(
        projection.reason.as_deref().unwrap().contains("not moved"),
        "{projection:?}"
    );
    let horizon = check(&report, "log_horizon");
    assert_eq!(horizon.status, HealthStatus::Degraded, "{report:#?}");
    assert!(horizon.horizon_age_seconds.unwrap() > 0.0);
    assert!(
        horizon.reason.as_deref().unwrap().contains("backend"),
        "{horizon:?}"
    );

    // The transaction ends; the runner catches up and the report is ready again.
    long.execute("ROLLBACK").await.unwrap();
    eventually("ready again", async || {
        health.check().await.status == HealthStatus::Ready
    })
    .await;
    task.abort();
}

#[tokio::test]
async fn an_unreachable_database_is_not_ready_within_the_timeout() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let options = sqlx::postgres::PgConnectOptions::new()
        .host("127.0.0.1")
        .port(port)
        .username("nobody");
    let pool = sqlx::postgres::PgPoolOptions::new()
        .acquire_timeout(Duration::from_millis(500))
        .connect_lazy_with(options);
    let health = HealthCheck::new(pool, ["anything"]).with_rules(HealthRules {
        db_timeout: Duration::from_secs(1),
        ..HealthRules::default()
    });
    let started = Instant::now();
    let report = health.check().await;
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(report.status, HealthStatus::NotReady);
    assert_eq!(report.checks.len(), 1, "{report:#?}");
    assert_eq!(report.checks[0].name, "database");
}

/// `check` returns a `Send` future: an axum handler or a spawned task can await it.
#[allow(dead_code)]
fn health_futures_are_send(
    health: &HealthCheck,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = HealthReport> + Send + '_>> {
    Box::pin(health.check())
}
