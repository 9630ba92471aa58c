//! How a [`Relay`](super::Relay) publishes: its window, its timeouts and waits.

use std::time::Duration;

use acci_core::{MAX_READ_BATCH, ValidationError};

/// How a relay publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelayOptions {
    /// The most messages published and not yet confirmed, at least 1. A wider window
    /// hides the broker's round trip; after a failure, what was in it is published
    /// again.
    pub window: usize,
    /// The most unconfirmed messages of one stream in the window, at least 1. At 1 (the
    /// default) a message is published only once the one before it in its stream was
    /// confirmed, so a broker that refuses one message and keeps the next (a negative
    /// acknowledgement in a full window) cannot put a stream out of order at the
    /// consumer. Above 1 a hot stream goes faster, and only such a refusal may deliver
    /// its later events before the one published again.
    pub per_stream: usize,
    /// How long the relay waits for each confirmation, from the moment it published the
    /// message; then it counts as failed and the relay publishes again from the first
    /// unconfirmed message.
    pub confirm_timeout: Duration,
    /// Events read from the log at a time, 1 to [`MAX_READ_BATCH`].
    pub batch_size: usize,
    /// The first wait before publishing again after a failure; it doubles with each
    /// failure in a row, up to [`MAX_RETRY_WAIT`](crate::projection::MAX_RETRY_WAIT).
    pub retry_backoff: Duration,
    /// How often a live relay looks for events when no notification came.
    pub poll_interval: Duration,
    /// How often a standby relay tries to become the active one, and the first wait
    /// after its database failed.
    pub standby_interval: Duration,
}

impl Default for RelayOptions {
    fn default() -> Self {
        Self {
            window: 256,
            per_stream: 1,
            confirm_timeout: Duration::from_secs(10),
            batch_size: 500,
            retry_backoff: Duration::from_millis(200),
            poll_interval: Duration::from_millis(500),
            standby_interval: Duration::from_millis(500),
        }
    }
}

impl RelayOptions {
    /// Refuses options a relay cannot work with: a zero window or per-stream limit, a
    /// batch size outside 1 to [`MAX_READ_BATCH`], a zero timeout or interval.
    pub fn validate(&self) -> Result<(), ValidationError> {
        for (what, value) in [
            ("window", self.window),
            ("per-stream limit", self.per_stream),
        ] {
            if value == 0 {
                return Err(ValidationError::new(what, "is zero; it must be at least 1"));
            }
        }
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
            ("confirm timeout", self.confirm_timeout),
            ("retry backoff", self.retry_backoff),
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
