//! How a runner works: batch size, intervals, and what it does with a failing event.

use std::time::Duration;

use acci_core::{MAX_READ_BATCH, ValidationError};

/// What happens to an event that fails to project (does not decode, has no key, makes
/// `project` panic, or its own SQL fails in a way that will not pass when tried again).
///
/// Only the event's own failures count here. A storage failure while the batch runs (a
/// lost connection, a serialization failure, a restarting server) is not the event's
/// fault: the runner retries it as transient and never parks or skips for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailurePolicy {
    /// Try the batch again up to `attempts` times in all, waiting `backoff` between tries;
    /// then park the event in the dead-letter table and go on. The default: 3 attempts,
    /// 200 ms apart.
    RetryThenPark {
        /// Tries in all before parking, at least 1.
        attempts: u32,
        /// The wait between tries.
        backoff: Duration,
    },
    /// Park the event at once and go on.
    Park,
    /// Skip the event at once and go on: it is counted and logged, not kept.
    Skip,
    /// Stop the runner with the error; the event stays unprocessed.
    Stop,
}

impl Default for FailurePolicy {
    fn default() -> Self {
        FailurePolicy::RetryThenPark {
            attempts: 3,
            backoff: Duration::from_millis(200),
        }
    }
}

impl FailurePolicy {
    /// Whether an event that failed `failures` times is set aside now (parked, or skipped
    /// under [`Skip`](Self::Skip)) instead of being tried again.
    pub fn sets_aside_after(self, failures: u32) -> bool {
        match self {
            FailurePolicy::RetryThenPark { attempts, .. } => failures >= attempts.max(1),
            FailurePolicy::Park | FailurePolicy::Skip => failures >= 1,
            FailurePolicy::Stop => false,
        }
    }
}

/// How a [`Runner`](super::Runner) works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunnerOptions {
    /// Events per batch (and per transaction), 1 to [`MAX_READ_BATCH`].
    pub batch_size: usize,
    /// How often a live runner looks for events when no notification came.
    pub poll_interval: Duration,
    /// How often a standby runner tries to become the active one, and how long the
    /// runner waits after a transient failure before it tries again.
    pub standby_interval: Duration,
    /// What to do with an event that fails to project.
    pub failure: FailurePolicy,
}

impl Default for RunnerOptions {
    fn default() -> Self {
        Self {
            batch_size: 500,
            poll_interval: Duration::from_millis(500),
            standby_interval: Duration::from_millis(500),
            failure: FailurePolicy::default(),
        }
    }
}

impl RunnerOptions {
    /// Refuses options a runner cannot work with: a batch size outside 1 to
    /// [`MAX_READ_BATCH`], or a zero interval (a loop that never waits).
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.batch_size == 0 || self.batch_size > MAX_READ_BATCH {
            return Err(ValidationError::new(
                "batch size",
                format!(
                    "is {}; it must be between 1 and {MAX_READ_BATCH}",
                    self.batch_size
                ),
            ));
        }
        for (what, interval) in [
            ("poll interval", self.poll_interval),
            ("standby interval", self.standby_interval),
        ] {
            if interval.is_zero() {
                return Err(ValidationError::new(what, "is zero; it must be positive"));
            }
        }
        Ok(())
    }
}
