//! [`Publisher`]: what a broker adapter implements for the relay, and [`PublishError`].

use std::future::Future;
use std::pin::Pin;

use async_trait::async_trait;

use super::outgoing::OutgoingMessage;
use crate::store::LogPosition;

/// The broker's answer to one published message, still to come: it resolves when the
/// broker confirmed the message (a RabbitMQ publisher confirm, a JetStream publish
/// acknowledgement) or refused it. The relay keeps a bounded window of these in flight
/// and waits for each under a timeout, since a confirmation can stay unresolved forever
/// when a connection drops.
pub type Confirmation = Pin<Box<dyn Future<Output = Result<(), PublishError>> + Send + 'static>>;

/// Publishes messages to a broker with confirmations. Implemented by the adapters
/// (`acci-rabbitmq`, `acci-nats`) and by [`InMemoryPublisher`](super::InMemoryPublisher).
#[async_trait]
pub trait Publisher: Send + Sync + 'static {
    /// Sends `message` and returns its [`Confirmation`] without waiting for it. May wait
    /// before sending while the client applies backpressure. An error here means the
    /// message was not sent; [`PublishError::is_retryable`] says whether to send it again.
    ///
    /// Publish the message under its [`message_id`](OutgoingMessage::message_id) where
    /// the broker deduplicates by id (`Nats-Msg-Id`).
    async fn publish(&self, message: OutgoingMessage) -> Result<Confirmation, PublishError>;

    /// The log position of the last message the relay `relay` published, if the broker
    /// can tell (a JetStream stream's last message carries it in its headers); `None`
    /// where it cannot (RabbitMQ). The relay starts after the later of this and its own
    /// checkpoint, so a takeover does not publish again what the broker already has.
    async fn last_published(&self, relay: &str) -> Result<Option<LogPosition>, PublishError>;
}

/// Why a message was not confirmed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PublishError {
    /// The connection or channel to the broker is gone; the message may or may not have
    /// arrived. Retryable.
    #[error("the connection to the broker was lost: {0}")]
    Connection(String),
    /// No confirmation came in time. Retryable.
    #[error("the broker did not confirm the message within {0:?}")]
    Timeout(std::time::Duration),
    /// The broker refused the message for now (a negative acknowledgement, a full
    /// stream). Retryable.
    #[error("the broker did not accept the message: {0}")]
    Nacked(String),
    /// No queue or stream takes the subject. Not retryable: the relay parks the event.
    #[error("no queue or stream takes the subject `{0}`")]
    Unroutable(String),
    /// The message is larger than the broker takes. Not retryable: the relay parks it.
    #[error("the message is {size} bytes, more than the broker's limit of {limit}")]
    TooLarge {
        /// The message's size.
        size: usize,
        /// The broker's limit.
        limit: usize,
    },
    /// The message cannot be published as it is (a subject rule refused it, a header the
    /// broker will not carry). Not retryable: the relay parks it.
    #[error("the message cannot be published: {0}")]
    Refused(String),
}

impl PublishError {
    /// Whether publishing the same message again may succeed: a lost connection, a
    /// timeout or a negative acknowledgement. The others are refusals of this message,
    /// which the relay parks in its dead letters before it goes on.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            PublishError::Connection(_) | PublishError::Timeout(_) | PublishError::Nacked(_)
        )
    }
}

/// The host and port of a broker URL (`scheme://user:password@host:port/path`), to name
/// the broker in an error without its credentials.
pub fn broker_host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split('/').next().unwrap_or_default();
    authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host)
}

#[cfg(test)]
mod tests {
    use super::broker_host;

    #[test]
    fn the_host_leaves_the_credentials_and_the_path_out() {
        assert_eq!(
            broker_host("amqp://guest:secret@10.0.0.1:5672/%2f"),
            "10.0.0.1:5672"
        );
        assert_eq!(broker_host("nats://127.0.0.1:4222"), "127.0.0.1:4222");
        assert_eq!(broker_host("localhost:4222"), "localhost:4222");
    }
}
