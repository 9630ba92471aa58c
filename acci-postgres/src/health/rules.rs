//! The thresholds a [`HealthCheck`](super::HealthCheck) judges by.

use std::time::Duration;

/// The thresholds of the health checks. Each is explained, with what to do when it fires,
/// in `docs/operations.md`.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthRules {
    /// How long each check may take; one that takes longer fails (the database counts as
    /// unreachable). Default 2 s.
    pub db_timeout: Duration,
    /// The most events a projection may have waiting before it counts as degraded.
    /// Default 1,000.
    pub max_lag_events: u64,
    /// How long the oldest waiting event of a projection may have waited before it counts
    /// as degraded. Default 30 s.
    pub max_lag_seconds: Duration,
    /// How long a projection's checkpoint may stand still while events wait before the
    /// projection counts as not ready (frozen: its runner is stuck or gone). Default 60 s.
    pub frozen_after: Duration,
    /// How long one transaction may hold the log's horizon before the store counts as
    /// degraded. Default 5 min.
    pub max_horizon_age: Duration,
}

impl Default for HealthRules {
    fn default() -> Self {
        Self {
            db_timeout: Duration::from_secs(2),
            max_lag_events: 1_000,
            max_lag_seconds: Duration::from_secs(30),
            frozen_after: Duration::from_secs(60),
            max_horizon_age: Duration::from_secs(300),
        }
    }
}
