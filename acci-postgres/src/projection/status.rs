//! Where a projection stands: its status with lag, and waiting for a position.

use std::time::{Duration, Instant};

use acci_core::LogPosition;
use chrono::Utc;

use super::checkpoint::Checkpoint;
use super::error::RunnerError;
use super::model::RunnerModel;
use super::runner::Runner;
use crate::error::store_error;
use crate::rows::{to_i64, to_u64};
use crate::store::event_filter;

/// Whether the runner is working.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProjectionState {
    /// Caught up, or catching up, with no error since the last batch.
    Running,
    /// The last turn of the runner failed; see [`RunnerStatus::failing`].
    Failing,
}

/// A runner whose turns fail one after another: a database error that is not any one
/// event's (a lost connection, a revoked right, a missing table), which
/// [`Runner::run`] retries with a growing wait, and logs each time, until it passes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failing {
    /// When the first of these failures happened.
    pub since: chrono::DateTime<Utc>,
    /// How many turns failed in a row.
    pub attempts: u32,
    /// The last error.
    pub error: String,
}

/// Where a projection stands, read from its checkpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct RunnerStatus {
    /// The projection.
    pub name: &'static str,
    /// Its version in the database.
    pub version: u32,
    /// The last log position applied or passed.
    pub position: LogPosition,
    /// Events applied, ever.
    pub events_applied: u64,
    /// Events parked, ever.
    pub events_parked: u64,
    /// Events skipped under [`FailurePolicy::Skip`](super::FailurePolicy::Skip), ever.
    pub events_skipped: u64,
    /// Events it selects in the log after its position (visible ones, counted up to
    /// 10,000).
    pub lag_events: u64,
    /// How old the last applied event was when the status was read.
    pub lag: Option<chrono::Duration>,
    /// Running or failing.
    pub state: ProjectionState,
    /// The last error, until a batch succeeds again.
    pub last_error: Option<String>,
    /// Since when, how often and with what the runner fails, until a batch succeeds
    /// again; `None` while it works.
    pub failing: Option<Failing>,
}

/// The most events [`RunnerStatus::lag_events`] counts.
const LAG_COUNT_LIMIT: i32 = 10_000;

impl<M: RunnerModel> Runner<M> {
    /// Where the projection stands: position, lag in events and in time, state, last error.
    pub async fn status(&self) -> Result<RunnerStatus, RunnerError> {
        let name = self.model.name();
        let checkpoint = Checkpoint::live(name).read_prepared(&self.pool).await?;
        let (aggregate_types, event_types) = event_filter(Some(self.model.events()));
        let lag_events: i64 =
            sqlx::query_scalar(include_str!("../../sql/projection/lag_events.sql"))
                .bind(checkpoint.position.commit.to_string())
                .bind(to_i64(checkpoint.position.position, "log position")?)
                .bind(LAG_COUNT_LIMIT)
                .bind(aggregate_types)
                .bind(event_types)
                .fetch_one(&self.pool)
                .await
                .map_err(|e| store_error(e, &format!("reading the lag of `{name}`")))?;
        Ok(RunnerStatus {
            name,
            version: checkpoint.version,
            position: checkpoint.position,
            events_applied: checkpoint.counts.applied,
            events_parked: checkpoint.counts.parked,
            events_skipped: checkpoint.counts.skipped,
            lag_events: to_u64(lag_events, "lag")?,
            lag: checkpoint.last_event_at.map(|at| Utc::now() - at),
            state: if checkpoint.last_error.is_some() {
                ProjectionState::Failing
            } else {
                ProjectionState::Running
            },
            failing: checkpoint.last_error.clone().map(|error| Failing {
                since: checkpoint.failing_since.unwrap_or_else(Utc::now),
                attempts: checkpoint.failing_attempts.max(1),
                error,
            }),
            last_error: checkpoint.last_error,
        })
    }

    /// Waits until the projection has passed `position` (the `last_position` of an
    /// append), so a caller can answer from the read model right after its command.
    /// Returns `false` if `timeout` ran out first. It reads only the checkpoint's
    /// position, so the application role may call it.
    pub async fn wait_for(
        &self,
        position: LogPosition,
        timeout: Duration,
    ) -> Result<bool, RunnerError> {
        let deadline = Instant::now() + timeout;
        let checkpoint = Checkpoint::live(self.model.name());
        loop {
            if let Some(reached) = checkpoint.read_position(&self.pool).await?
                && reached >= position
            {
                return Ok(true);
            }
            if Instant::now() >= deadline {
                return Ok(false);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}
