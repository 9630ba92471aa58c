//! [`RelayError`]: why a relay call failed.

use acci_core::StoreError;
use acci_core::publish::PublishError;

use crate::projection::RunnerError;

/// Why a relay call failed. Broker failures while publishing are not among them: the
/// relay retries those itself, or parks the event the broker refused.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// The database or the checkpoint failed, as for a projection runner.
    #[error(transparent)]
    Runner(#[from] RunnerError),
    /// The broker could not say what the relay published last, so the relay does not
    /// know where to start.
    #[error("relay `{relay}`: the broker could not say what was published last: {error}")]
    LastPublished {
        /// The relay.
        relay: &'static str,
        /// The broker's error.
        error: PublishError,
    },
    /// Replaying the dead letters stopped: the broker failed in a way that may pass.
    #[error("relay `{relay}`: replaying a dead letter failed: {error}")]
    Replay {
        /// The relay.
        relay: &'static str,
        /// The broker's error.
        error: PublishError,
    },
}

impl From<StoreError> for RelayError {
    fn from(error: StoreError) -> Self {
        RelayError::Runner(RunnerError::Store(error))
    }
}

impl RelayError {
    /// Whether calling again may succeed: a transient database failure, a checkpoint
    /// another relay moved, a broker that may answer next time.
    pub fn is_retryable(&self) -> bool {
        match self {
            RelayError::Runner(error) => error.is_retryable(),
            RelayError::LastPublished { error, .. } | RelayError::Replay { error, .. } => {
                error.is_retryable()
            }
        }
    }
}
