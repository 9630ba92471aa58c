//! The instrumentation on PostgreSQL: each projection batch's span links to the trace
//! contexts stored with its events and counts what it applied; the lag gauges count
//! against the log's head, so a transaction that freezes the horizon shows up in them
//! while the runner's status, which reads up to the horizon, sees nothing to do.

// The domain types below exist for the tests; documenting each would add only noise.
#![allow(missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use acci_core::LogPosition;
use acci_core::observability::TraceContext;
use acci_core::observability::names::*;
use acci_core::prelude::*;
use acci_postgres::observability::{LagSampler, sample_log_horizon};
use acci_postgres::projection::{Runner, RunnerModel};
use acci_postgres::{PgEventStore, ProjectionRunner};
use acci_tests::capture::capture;
use acci_tests::pg::{READER_LOGIN, TestDatabase};
use serde::{Deserialize, Serialize};

#[event]
pub struct Ticked {
    pub by: i64,
}

#[derive(Aggregate, Clone, Debug, Default, Serialize, Deserialize)]
#[aggregate(name = "Clock", events(Ticked))]
pub struct Clock {
    ticks: i64,
}

impl Apply<Ticked> for Clock {
    fn apply(&mut self, e: &Ticked) {
        self.ticks += e.by;
    }
}

#[derive(Debug, thiserror::Error)]
#[error("never")]
pub struct Never;

pub struct Tick(i64);

impl Handle<Tick> for Clock {
    type Error = Never;
    fn handle(&self, cmd: &Tick) -> Result<Vec<ClockEvent>, Never> {
        Ok(vec![Ticked { by: cmd.0 }.into()])
    }
}

#[projection(table = "clock_ticks", events(Ticked), aggregates(Clock))]
#[derive(Debug, Clone, PartialEq)]
pub struct ClockTicks {
    #[projection(key)]
    pub clock: String,
    pub ticks: i64,
}

impl Project<Ticked> for ClockTicks {
    fn project(row: &mut Option<Self>, e: &Recorded<Ticked>) {
        let row = row.get_or_insert_with(|| ClockTicks {
            clock: e.stream.aggregate_id.to_string(),
            ticks: 0,
        });
        row.ticks += e.data.by;
    }
}

fn parent(i: u32) -> String {
    format!("00-{:032x}-00f067aa0ba902b7-01", i + 1)
}

async fn tick(clocks: &Repository<Clock, PgEventStore>, clock: &str, i: u32) -> LogPosition {
    let context = TraceContext::new(&parent(i), None).unwrap();
    let command = Command::new(
        TenantId::new("acme").unwrap(),
        AggregateId::new(clock).unwrap(),
        Tick(1),
    )
    .with_metadata(Metadata::new().with_trace_context(context));
    clocks.execute(command).await.unwrap().position.unwrap()
}

/// Other tests' transactions on the server may hold the horizon for a moment.
async fn catch_up_to<M: RunnerModel>(runner: &Runner<M>, position: LogPosition) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        runner.catch_up().await.unwrap();
        if runner.wait_for(position, Duration::ZERO).await.unwrap() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the log did not reach {position}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until no committed event of this database is above the readable horizon, which
/// other tests' transactions on the server may hold for a moment.
async fn wait_for_open_horizon(pool: &sqlx::PgPool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while sample_log_horizon(pool).await.unwrap().lag_events > 0 {
        assert!(Instant::now() < deadline, "the horizon stayed closed");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[test]
fn a_batch_is_a_root_span_that_links_to_the_stored_trace_contexts() {
    let (_, spans, metrics) = capture(|| async {
        let db = TestDatabase::create().await;
        let clocks = Repository::<Clock, _>::new(Arc::new(db.store().await));
        let mut last = LogPosition::START;
        for i in 0..3 {
            last = tick(&clocks, "c-1", i).await;
        }
        let runner_pool = db.pool_as(Some(READER_LOGIN), 2).await;
        // One batch is asserted below, so the three events must all be readable first.
        wait_for_open_horizon(&runner_pool).await;
        let runner = ProjectionRunner::<ClockTicks>::new(runner_pool);
        catch_up_to(&runner, last).await;
    });
    let batches: Vec<_> = spans
        .named(SPAN_PROJECTION_BATCH)
        .into_iter()
        .filter(|s| s.field("applied").is_some_and(|n| n != "0"))
        .collect();
    assert_eq!(batches.len(), 1, "{batches:#?}");
    let batch = &batches[0];
    assert_eq!(batch.parent, None, "a batch is never a child");
    assert_eq!(batch.field("projection"), Some("clock_ticks"));
    assert_eq!(batch.field("events"), Some("3"));
    assert_eq!(batch.field("applied"), Some("3"));
    assert_eq!(batch.field("parked"), Some("0"));
    let expected = (0..3).map(parent).collect::<Vec<_>>().join(" ");
    assert_eq!(batch.field("links"), Some(expected.as_str()));
    assert!(batch.field("after").is_some() && batch.field("to").is_some());
    let projection = [("projection", "clock_ticks")];
    assert_eq!(metrics.counter(PROJECTION_EVENTS_TOTAL, &projection), 3);
    assert_eq!(
        metrics.counter(PROJECTION_DEAD_LETTERS_TOTAL, &projection),
        0
    );
    // The commands' spans carried the contexts they stored.
    let commands = spans.named(SPAN_COMMAND);
    assert_eq!(commands.len(), 3);
    assert_eq!(commands[2].field("traceparent"), Some(parent(2).as_str()));
}

#[test]
fn a_frozen_horizon_shows_in_the_lag_gauges_measured_against_the_head() {
    let (_, _, metrics) = capture(|| async {
        let db = TestDatabase::create().await;
        let clocks = Repository::<Clock, _>::new(Arc::new(db.store().await));
        let runner_pool = db.pool_as(Some(READER_LOGIN), 2).await;
        let runner = ProjectionRunner::<ClockTicks>::new(runner_pool.clone());
        let first = tick(&clocks, "c-1", 0).await;
        catch_up_to(&runner, first).await;

        // A transaction with an id, left open: the horizon stops below it.
        let holder = db.pool_as(None, 1).await;
        let mut held = holder.begin().await.unwrap();
        sqlx::query("SELECT pg_current_xact_id()")
            .execute(&mut *held)
            .await
            .unwrap();
        for i in 1..=4 {
            tick(&clocks, "c-2", i).await;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        runner.catch_up().await.unwrap();
        // Read through the log, the projection has nothing to do…
        assert_eq!(runner.status().await.unwrap().lag_events, 0);
        // …counted against the head, four events wait, and the horizon says why.
        let lag = runner.sample_lag().await.unwrap();
        assert_eq!(lag.lag_events, 4);
        assert!(lag.lag >= Duration::from_millis(50), "{lag:?}");
        let horizon = sample_log_horizon(&runner_pool).await.unwrap();
        assert!(horizon.lag_events >= 4, "{horizon:?}");
        assert!(
            horizon.oldest_transaction_age >= Duration::from_millis(50),
            "{horizon:?}"
        );
        held.rollback().await.unwrap();

        // Released: the runner catches up and its lag is gone.
        let last = tick(&clocks, "c-2", 5).await;
        catch_up_to(&runner, last).await;
        let sampler = LagSampler::new(runner_pool).with_runner(runner);
        sampler.sample_once().await.unwrap();
    });
    let projection = [("projection", "clock_ticks")];
    assert_eq!(metrics.gauge(PROJECTION_LAG_EVENTS, &projection), Some(0.0));
    assert_eq!(
        metrics.gauge(PROJECTION_LAG_SECONDS, &projection),
        Some(0.0)
    );
    // Other tests' transactions on the server move these; they were set.
    assert!(metrics.gauge(LOG_HORIZON_LAG_EVENTS, &[]).is_some());
    assert!(
        metrics
            .gauge(LOG_HORIZON_OLDEST_TRANSACTION_AGE_SECONDS, &[])
            .is_some()
    );
}

/// Every public async fn of the instrumentation returns a `Send` future (compiling is the
/// test).
#[allow(dead_code)]
fn observability_futures_are_send(
    pool: &sqlx::PgPool,
    runner: &ProjectionRunner<ClockTicks>,
    sampler: LagSampler,
) {
    fn boxed<'a, T>(future: std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>) {
        drop(future);
    }
    boxed(Box::pin(sample_log_horizon(pool)));
    boxed(Box::pin(runner.sample_lag()));
    boxed(Box::pin(sampler.sample_once()));
    boxed(Box::pin(sampler.run(Duration::from_secs(1))));
    boxed(Box::pin(acci_core::observability::observe_query(
        "read_model",
        "get",
        None,
        async { Ok::<_, acci_core::query::QueryError>(()) },
    )));
}
