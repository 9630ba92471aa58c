//! [`RabbitError`]: why connecting to RabbitMQ or setting up its exchange or queue failed.

use acci_core::ValidationError;

/// Why a [`RabbitPublisher`](crate::RabbitPublisher) or
/// [`RabbitSubscriber`](crate::RabbitSubscriber) could not be set up. The broker is
/// named by its host and port, never by its URL, which may hold a password.
#[derive(Debug, thiserror::Error)]
pub enum RabbitError {
    /// The options are not usable; nothing was tried.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// No connection could be opened to the broker at `host`.
    #[error("cannot connect to RabbitMQ at {host}: {reason}")]
    Connect {
        /// The broker's host and port, from the URL.
        host: String,
        /// What failed.
        reason: String,
    },
    /// The broker refused to set something up (declare, bind, consume).
    #[error("RabbitMQ at {host} refused to {action}: {reason}")]
    Setup {
        /// The broker's host and port, from the URL.
        host: String,
        /// What was being set up, naming the exchange or queue.
        action: String,
        /// The broker's answer.
        reason: String,
    },
}
