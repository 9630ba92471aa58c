//! [`NatsError`]: why connecting to NATS or setting up a stream or consumer failed.

use acci_core::ValidationError;

/// Why a [`NatsPublisher`](crate::NatsPublisher) or
/// [`NatsSubscriber`](crate::NatsSubscriber) could not be set up. The server is named by
/// its host and port, never by its URL, which may hold credentials.
#[derive(Debug, thiserror::Error)]
pub enum NatsError {
    /// The options are not usable; nothing was tried.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// No connection could be opened to the server at `host`.
    #[error("cannot connect to NATS at {host}: {reason}")]
    Connect {
        /// The server's host and port, from the URL.
        host: String,
        /// What failed.
        reason: String,
    },
    /// JetStream refused to set something up (a stream, a consumer).
    #[error("JetStream at {host} refused to {action}: {reason}")]
    Setup {
        /// The server's host and port, from the URL.
        host: String,
        /// What was being set up, naming the stream or consumer.
        action: String,
        /// The server's answer.
        reason: String,
    },
}
