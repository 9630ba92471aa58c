//! The bounded retry policy for concurrency conflicts.

use std::time::Duration;

/// How often and how patiently the [`Repository`](crate::Repository) retries a command
/// whose append met a concurrency conflict.
///
/// The first retry runs at once; later ones wait an exponentially growing, randomly
/// jittered delay (between zero and `base_delay * 2^(retry - 1)`, capped at `max_delay`),
/// so that writers contending for one stream spread out instead of colliding again.
/// The delays use Tokio's timer: run commands inside a Tokio runtime with the time
/// driver enabled (`#[tokio::main]` has it), or use [`RetryPolicy::never`].
///
/// Only conflicts are retried: the retry reloads just the events it missed and decides
/// again on the fresh state. Persistence errors are returned to the caller, who may send
/// the command again with the same command id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included; at least 1.
    pub max_attempts: u32,
    /// The delay bound before the second retry.
    pub base_delay: Duration,
    /// The largest delay bound.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// Ten attempts, delays from 1 ms up to 100 ms.
    fn default() -> Self {
        Self {
            max_attempts: 10,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(100),
        }
    }
}

impl RetryPolicy {
    /// One attempt: a conflict is returned at once.
    pub fn never() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// `max_attempts` attempts with the default delays.
    pub fn attempts(max_attempts: u32) -> Self {
        Self {
            max_attempts: max_attempts.max(1),
            ..Self::default()
        }
    }

    /// The delay before attempt `attempt` (1-based; the first attempt never waits).
    pub fn delay_before(&self, attempt: u32) -> Duration {
        if attempt <= 2 {
            return Duration::ZERO;
        }
        let factor = 1u32 << (attempt - 3).min(20);
        let bound = self.base_delay.saturating_mul(factor).min(self.max_delay);
        let nanos = u64::try_from(bound.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(fastrand::u64(0..=nanos))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_within_their_cap() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.delay_before(1), Duration::ZERO);
        assert_eq!(policy.delay_before(2), Duration::ZERO);
        for attempt in 3..40 {
            assert!(policy.delay_before(attempt) <= policy.max_delay);
        }
        assert!(RetryPolicy::attempts(0).max_attempts == 1);
    }
}
