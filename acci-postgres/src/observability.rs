//! What the PostgreSQL adapter records: each projection batch's span, the projection
//! counters, and the lag gauges measured against the log's head.
//!
//! The names are [`acci_core::observability::names`]; `docs/operations.md` explains
//! them. Projection lag is sampled, not pushed: call [`Runner::sample_lag`] and
//! [`sample_log_horizon`] on a timer (or let [`LagSampler`] do it), and the gauges hold
//! the last sample.
//!
//! Lag is counted against the log's head, not against the readable horizon: a long
//! transaction anywhere on the server freezes the horizon, and a lag read through the
//! log (which stops at the horizon) then says zero while committed events pile up. Here
//! those events count, and [`LOG_HORIZON_LAG_EVENTS`] and
//! [`LOG_HORIZON_OLDEST_TRANSACTION_AGE_SECONDS`] say how far the horizon trails and for
//! how long its holder has been open.
//!
//! [`Runner::sample_lag`]: crate::projection::Runner::sample_lag

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use acci_core::observability::names::{
    LOG_HORIZON_LAG_EVENTS, LOG_HORIZON_OLDEST_TRANSACTION_AGE_SECONDS, PROJECTION,
    PROJECTION_DEAD_LETTERS_TOTAL, PROJECTION_EVENTS_TOTAL, PROJECTION_LAG_EVENTS,
    PROJECTION_LAG_SECONDS, SPAN_PROJECTION_BATCH,
};
use acci_core::observability::{links, links_field};
use acci_core::{LogBatch, LogPosition, StoreError};
use sqlx::{PgPool, Row};
use tracing::Span;
use tracing::field::Empty;

use crate::error::store_error;
use crate::projection::RunnerError;
use crate::rows::{corrupt, to_i64, to_u64};

/// The most events a lag sample counts: past it, the gauge reads this.
pub const LAG_COUNT_LIMIT: i64 = 100_000;

/// The span of one batch of `projection`: a root of its own trace, never a child of the
/// requests that recorded its events; it names their trace contexts in `links` instead.
pub(crate) fn batch_span(projection: &'static str, schema: &'static str) -> Span {
    tracing::info_span!(
        parent: None,
        SPAN_PROJECTION_BATCH,
        projection,
        schema,
        after = Empty,
        to = Empty,
        events = Empty,
        links = Empty,
        applied = Empty,
        parked = Empty,
        skipped = Empty,
    )
}

/// The batch read from `after`: its positions, its size and its links, on the current
/// span (the batch's).
pub(crate) fn batch_read(after: LogPosition, batch: &LogBatch) {
    let span = Span::current();
    if span.is_disabled() {
        return;
    }
    span.record("after", tracing::field::display(after));
    span.record("to", tracing::field::display(batch.next));
    span.record("events", batch.events.len());
    let found = links(batch.events.iter().map(|e| &e.metadata));
    if !found.is_empty() {
        span.record("links", links_field(&found).as_str());
    }
    #[cfg(feature = "opentelemetry")]
    for context in &found {
        use tracing_opentelemetry::OpenTelemetrySpanExt;
        if let Some(remote) = acci_core::observability::otel::span_context(context) {
            span.add_link(remote);
        }
    }
}

/// A batch of `projection` committed: `applied` events applied, `parked` parked and
/// `skipped` skipped.
pub(crate) fn batch_committed(projection: &'static str, applied: u64, parked: u64, skipped: u64) {
    let span = Span::current();
    span.record("applied", applied);
    span.record("parked", parked);
    span.record("skipped", skipped);
    if applied > 0 {
        metrics::counter!(PROJECTION_EVENTS_TOTAL, PROJECTION => projection).increment(applied);
    }
    if parked > 0 {
        metrics::counter!(PROJECTION_DEAD_LETTERS_TOTAL, PROJECTION => projection)
            .increment(parked);
    }
}

/// How far one projection trails the log's head.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectionLag {
    /// The projection.
    pub projection: &'static str,
    /// Committed events it selects after its checkpoint, up to [`LAG_COUNT_LIMIT`],
    /// including those above the readable horizon.
    pub lag_events: u64,
    /// How long ago the oldest of them was recorded; zero when there is none.
    pub lag: Duration,
}

impl ProjectionLag {
    /// Sets [`PROJECTION_LAG_EVENTS`] and [`PROJECTION_LAG_SECONDS`] of the projection.
    pub fn record(&self) {
        metrics::gauge!(PROJECTION_LAG_EVENTS, PROJECTION => self.projection)
            .set(self.lag_events as f64);
        metrics::gauge!(PROJECTION_LAG_SECONDS, PROJECTION => self.projection)
            .set(self.lag.as_secs_f64());
    }
}

/// How far the readable horizon trails the log's head.
#[derive(Debug, Clone, PartialEq)]
pub struct HorizonLag {
    /// Committed events at or above the horizon, which no reader of the log sees yet (up
    /// to [`LAG_COUNT_LIMIT`]).
    pub lag_events: u64,
    /// How long the oldest transaction holding the horizon has been open; zero when no
    /// transaction with an id is running. When the caller may not see that transaction
    /// (other roles' sessions need `pg_read_all_stats`), the age of the oldest event
    /// above the horizon, a lower bound, stands in. See
    /// [`PgEventStore::log_horizon_holder`](crate::PgEventStore::log_horizon_holder) to
    /// name it.
    pub oldest_transaction_age: Duration,
}

impl HorizonLag {
    /// Sets [`LOG_HORIZON_LAG_EVENTS`] and [`LOG_HORIZON_OLDEST_TRANSACTION_AGE_SECONDS`].
    pub fn record(&self) {
        metrics::gauge!(LOG_HORIZON_LAG_EVENTS).set(self.lag_events as f64);
        metrics::gauge!(LOG_HORIZON_OLDEST_TRANSACTION_AGE_SECONDS)
            .set(self.oldest_transaction_age.as_secs_f64());
    }
}

/// Measures how far the horizon trails the head and records it in the two gauges.
///
/// Connect as a role in `acci_all_tenants` (a projection runner's): it counts every
/// tenant's events. Seeing other roles' transactions needs `pg_read_all_stats`.
pub async fn sample_log_horizon(pool: &PgPool) -> Result<HorizonLag, StoreError> {
    let doing = "sampling the log horizon";
    let mut tx = all_tenants(pool, doing).await?;
    let row = sqlx::query(include_str!("../sql/store/log_horizon_lag.sql"))
        .bind(LAG_COUNT_LIMIT)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| store_error(e, doing))?;
    tx.commit().await.map_err(|e| store_error(e, doing))?;
    let events: i64 = row.try_get("events").map_err(corrupt)?;
    let age: f64 = row.try_get("oldest_transaction_age").map_err(corrupt)?;
    let lag = HorizonLag {
        lag_events: to_u64(events, "horizon lag")?,
        oldest_transaction_age: Duration::try_from_secs_f64(age.max(0.0)).unwrap_or_default(),
    };
    lag.record();
    Ok(lag)
}

/// A transaction that reads every tenant's events.
async fn all_tenants(
    pool: &PgPool,
    doing: &str,
) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, StoreError> {
    let mut tx = pool.begin().await.map_err(|e| store_error(e, doing))?;
    sqlx::query("SELECT set_config('acci.all_tenants', 'on', true)")
        .execute(&mut *tx)
        .await
        .map_err(|e| store_error(e, doing))?;
    Ok(tx)
}

/// The lag of `projection`'s selection after `position`, recorded in its gauges.
pub(crate) async fn sample_projection_lag(
    pool: &PgPool,
    projection: &'static str,
    position: LogPosition,
    kinds: Option<&[acci_core::EventKind]>,
) -> Result<ProjectionLag, StoreError> {
    let doing = format!("sampling the lag of `{projection}`");
    let (aggregate_types, event_types) = crate::store::event_filter(kinds);
    let mut tx = all_tenants(pool, &doing).await?;
    let row = sqlx::query(include_str!("../sql/projection/lag_head.sql"))
        .bind(position.commit.to_string())
        .bind(to_i64(position.position, "log position")?)
        .bind(LAG_COUNT_LIMIT)
        .bind(aggregate_types)
        .bind(event_types)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| store_error(e, &doing))?;
    tx.commit().await.map_err(|e| store_error(e, &doing))?;
    let events: i64 = row.try_get("events").map_err(corrupt)?;
    let oldest: Option<chrono::DateTime<chrono::Utc>> = row.try_get("oldest").map_err(corrupt)?;
    let lag = ProjectionLag {
        projection,
        lag_events: to_u64(events, "projection lag")?,
        lag: oldest
            .and_then(|at| (chrono::Utc::now() - at).to_std().ok())
            .unwrap_or_default(),
    };
    lag.record();
    Ok(lag)
}

/// Something whose lag can be sampled: every [`Runner`](crate::projection::Runner).
pub trait SampleLag: Send + Sync {
    /// The projection's name.
    fn projection(&self) -> &'static str;

    /// Samples its lag and records it; see
    /// [`Runner::sample_lag`](crate::projection::Runner::sample_lag).
    fn sample(
        &self,
    ) -> Pin<Box<dyn Future<Output = Result<ProjectionLag, RunnerError>> + Send + '_>>;
}

/// Samples the lag of some runners and the log horizon on a timer, so the gauges stay
/// current. A failed sample is logged and leaves the gauge at its last value.
///
/// ```no_run
/// # async fn run(pool: sqlx::PgPool, runner: acci_postgres::projection::Runner<impl acci_postgres::projection::RunnerModel>) {
/// use std::time::Duration;
/// use acci_postgres::observability::LagSampler;
///
/// let sampler = LagSampler::new(pool).with_runner(runner);
/// tokio::spawn(sampler.run(Duration::from_secs(15)));
/// # }
/// ```
#[derive(Clone)]
pub struct LagSampler {
    pool: PgPool,
    runners: Vec<Arc<dyn SampleLag>>,
}

impl std::fmt::Debug for LagSampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LagSampler")
            .field(
                "projections",
                &self
                    .runners
                    .iter()
                    .map(|r| r.projection())
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl LagSampler {
    /// A sampler of the log horizon through `pool` (a runner's role), with no runner yet.
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            runners: Vec::new(),
        }
    }

    /// Samples `runner`'s lag as well.
    pub fn with_runner(mut self, runner: impl SampleLag + 'static) -> Self {
        self.runners.push(Arc::new(runner));
        self
    }

    /// One round: the horizon, then every runner. Every failure is logged; the first
    /// one is returned after the round.
    pub async fn sample_once(&self) -> Result<(), RunnerError> {
        let mut first = None;
        if let Err(error) = sample_log_horizon(&self.pool).await {
            tracing::warn!(%error, "sampling the log horizon failed");
            first.get_or_insert(RunnerError::from(error));
        }
        for runner in &self.runners {
            if let Err(error) = runner.sample().await {
                tracing::warn!(projection = runner.projection(), %error, "sampling a projection's lag failed");
                first.get_or_insert(error);
            }
        }
        first.map_or(Ok(()), Err)
    }

    /// Samples every `interval`, forever (drop or abort the task to stop it).
    pub async fn run(self, interval: Duration) {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let _ = self.sample_once().await;
        }
    }
}
