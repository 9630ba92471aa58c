//! Whether a service on this store can do its work: a [`HealthReport`] with one overall
//! [`HealthStatus`] and the reason of every check, for a readiness probe, a status page or
//! an alert. No web framework in it: a service serializes the report (it is
//! `Serialize`) and picks its own status code.
//!
//! [`HealthCheck::check`] runs these checks, each within [`HealthRules::db_timeout`]:
//!
//! | check | ready when | otherwise |
//! |---|---|---|
//! | `database` | a connection answers `SELECT 1` | not ready |
//! | `writable` | the server is no standby and a heartbeat write commits | not ready |
//! | `log_horizon` | no transaction has held the log's horizon longer than [`HealthRules::max_horizon_age`] | degraded |
//! | `projection:<name>` | it has a checkpoint, a runner holds its lease, its checkpoint moved within [`HealthRules::frozen_after`] while events wait, its lag is under [`HealthRules::max_lag_events`] and [`HealthRules::max_lag_seconds`], and its last batch did not fail | not ready (no checkpoint, no lease, frozen) or degraded (lagging, failing) |
//!
//! Lag is measured against the head of the log, not against the horizon runners read up
//! to: a long transaction anywhere on the server holds the horizon back, and lag measured
//! against it would read zero while events wait. The `log_horizon` check names that
//! transaction. A projection's lag is read from the database, not from the runner, so a
//! dead runner cannot report itself healthy: it stops holding its lease and its
//! checkpoint stops moving.

mod check;
mod rules;

use serde::Serialize;

pub use check::{HealthCheck, ProjectionTarget};
pub use rules::HealthRules;

/// How well a service can do its work, from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    /// Everything checked is as it should be.
    Ready,
    /// It serves, but something needs attention: a read model lags, a long transaction
    /// holds the log back, a projection's batches fail and are retried.
    Degraded,
    /// It cannot serve: the database is unreachable or read-only, or a read model is not
    /// being kept current. A readiness probe should take it out of rotation.
    NotReady,
}

impl HealthStatus {
    /// Whether a readiness probe should send it traffic: ready or degraded.
    pub fn is_serving(self) -> bool {
        self != HealthStatus::NotReady
    }
}

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckResult {
    /// What was checked: `database`, `writable`, `log_horizon`, `projection:<name>`.
    pub name: String,
    /// Its status.
    pub status: HealthStatus,
    /// Why it is not ready, or what was seen when it is; `None` when there is nothing to
    /// say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// How long the check took, in milliseconds.
    pub elapsed_ms: u64,
    /// What a projection check read; `None` for the other checks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub projection: Option<ProjectionReading>,
    /// The age of the oldest transaction holding the log's horizon, in seconds (0 when
    /// none does); only on the `log_horizon` check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub horizon_age_seconds: Option<f64>,
}

impl CheckResult {
    /// A check named `name` with `status` and `reason`, and nothing read: what a service
    /// adds for a store this module does not check (the in-memory one, say).
    pub fn new(name: impl Into<String>, status: HealthStatus, reason: Option<String>) -> Self {
        Self {
            name: name.into(),
            status,
            reason,
            elapsed_ms: 0,
            projection: None,
            horizon_age_seconds: None,
        }
    }
}

/// What the check of one projection read from the database.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProjectionReading {
    /// The projection's name.
    pub projection: String,
    /// Committed events it selects past its checkpoint, counted up to 10,000.
    pub lag_events: u64,
    /// How long the oldest of those events has waited, in seconds; 0 when none waits.
    pub lag_seconds: f64,
    /// Whether a session holds its active-runner lease.
    pub leased: bool,
    /// Seconds since its checkpoint last changed; `None` when it has no checkpoint.
    pub checkpoint_idle_seconds: Option<f64>,
    /// Since when and after how many attempts its batches fail, until one succeeds again;
    /// the error's own text, which may quote a tenant's event, is in the runner's status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// What [`HealthCheck::check`] found: the overall status, the worst of its checks, and
/// every check with its reason.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HealthReport {
    /// The worst status of the checks.
    pub status: HealthStatus,
    /// Every check, in the order they ran.
    pub checks: Vec<CheckResult>,
}

impl HealthReport {
    /// The report of `checks`: its status is the worst of theirs, ready when there are
    /// none.
    pub fn from_checks(checks: Vec<CheckResult>) -> Self {
        let status = checks
            .iter()
            .map(|c| c.status)
            .max()
            .unwrap_or(HealthStatus::Ready);
        Self { status, checks }
    }

    /// The reasons of the checks that are not ready, one line each: `name: reason`.
    pub fn problems(&self) -> Vec<String> {
        self.checks
            .iter()
            .filter(|c| c.status != HealthStatus::Ready)
            .map(|c| format!("{}: {}", c.name, c.reason.as_deref().unwrap_or("failed")))
            .collect()
    }
}
