//! [`RabbitPublisher`]: the relay's publisher on RabbitMQ, with publisher confirms and
//! `mandatory` publishing.

use std::sync::Arc;
use std::time::Duration;

use acci_core::LogPosition;
use acci_core::publish::{Confirmation, OutgoingMessage, PublishError, Publisher};
use async_trait::async_trait;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use tokio::sync::Mutex;

use crate::error::RabbitError;
use crate::link::{Link, open, setup};
use crate::options::RabbitOptions;
use crate::properties::{routing_key, to_properties};

/// How often an outstanding confirmation looks whether its connection died: lapin
/// fails pending confirms of a closed channel, this only bounds the wait if it did not.
const LIVENESS_CHECK: Duration = Duration::from_millis(200);

/// Publishes to a RabbitMQ topic exchange with publisher confirms: each message under
/// its subject as routing key, persistent, `mandatory`, with the event id as
/// `message_id` and the headers as an AMQP field table of long strings.
///
/// A [`Confirmation`] resolves `Ok` when the broker acknowledged the message (it is
/// in every queue bound to its routing key, on disk for durable queues),
/// [`PublishError::Unroutable`] when the broker returned it (no queue is bound to its
/// routing key), [`PublishError::Nacked`] on a negative acknowledgement and
/// [`PublishError::Connection`] when the connection or channel died first. After a lost
/// connection the next [`publish`](Publisher::publish) connects again.
///
/// Backpressure: `publish` holds the channel while it writes the message, so a
/// broker that blocks the connection or a socket that stalls holds the next publish
/// back; a write that takes longer than
/// [`connect_timeout`](RabbitOptions::connect_timeout) counts as a lost connection.
pub struct RabbitPublisher {
    options: RabbitOptions,
    link: Mutex<Option<Arc<Link>>>,
}

impl std::fmt::Debug for RabbitPublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RabbitPublisher")
            .field("host", &self.options.host())
            .field("exchange", &self.options.exchange)
            .finish_non_exhaustive()
    }
}

impl RabbitPublisher {
    /// Connects to the broker, opens a channel in confirm mode and (if
    /// [`declare_exchange`](RabbitOptions::declare_exchange)) declares the exchange.
    /// Invalid options are refused before any I/O.
    pub async fn connect(options: RabbitOptions) -> Result<Self, RabbitError> {
        options.validate()?;
        let link = confirming(&options).await?;
        Ok(Self {
            options,
            link: Mutex::new(Some(Arc::new(link))),
        })
    }

    /// A publisher that connects on its first publish (and declares the exchange then),
    /// so that a broker away at start-up delays publication, not the program: the relay
    /// retries a publish that cannot connect. Invalid options are refused here.
    pub fn lazy(options: RabbitOptions) -> Result<Self, RabbitError> {
        options.validate()?;
        Ok(Self {
            options,
            link: Mutex::new(None),
        })
    }

    /// The options it was connected with.
    pub fn options(&self) -> &RabbitOptions {
        &self.options
    }
}

/// A link whose channel is in confirm mode.
async fn confirming(options: &RabbitOptions) -> Result<Link, RabbitError> {
    let link = open(options).await?;
    link.channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .map_err(|e| setup(options, "put the channel in confirm mode".to_owned(), e))?;
    Ok(link)
}

fn lost(error: impl std::fmt::Display) -> PublishError {
    PublishError::Connection(error.to_string())
}

#[async_trait]
impl Publisher for RabbitPublisher {
    async fn publish(&self, message: OutgoingMessage) -> Result<Confirmation, PublishError> {
        let size = message.size();
        if size > self.options.max_message_bytes {
            return Err(PublishError::TooLarge {
                size,
                limit: self.options.max_message_bytes,
            });
        }
        let properties = to_properties(&message)?;
        let key = routing_key(&message)?;
        let mut slot = self.link.lock().await;
        let link = match slot.as_ref() {
            Some(link) if link.is_open() => Arc::clone(link),
            _ => {
                *slot = None;
                let link = Arc::new(confirming(&self.options).await.map_err(lost)?);
                *slot = Some(Arc::clone(&link));
                link
            }
        };
        let options = BasicPublishOptions {
            mandatory: true,
            ..BasicPublishOptions::default()
        };
        let send = link.channel.basic_publish(
            self.options.exchange.as_str().into(),
            key,
            options,
            message.payload.as_bytes(),
            properties,
        );
        let confirm = match tokio::time::timeout(self.options.connect_timeout, send).await {
            Ok(Ok(confirm)) => confirm,
            Ok(Err(error)) => {
                *slot = None;
                return Err(lost(error));
            }
            Err(_) => {
                *slot = None;
                return Err(lost(format!(
                    "writing the message took longer than {:?}",
                    self.options.connect_timeout
                )));
            }
        };
        drop(slot);
        let subject = message.subject;
        Ok(Box::pin(async move {
            tokio::pin!(confirm);
            let answer = loop {
                tokio::select! {
                    answer = &mut confirm => break answer,
                    () = tokio::time::sleep(LIVENESS_CHECK) => {
                        if !link.is_open() {
                            return Err(lost("the channel closed before the broker confirmed"));
                        }
                    }
                }
            };
            match answer {
                Ok(lapin::Confirmation::Ack(None)) => Ok(()),
                Ok(lapin::Confirmation::Ack(Some(_returned))) => {
                    Err(PublishError::Unroutable(subject))
                }
                Ok(lapin::Confirmation::Nack(_)) => Err(PublishError::Nacked(format!(
                    "RabbitMQ refused the message under `{subject}`"
                ))),
                Ok(lapin::Confirmation::NotRequested) => Err(lost(
                    "the channel is not in confirm mode; it was reopened without it",
                )),
                Err(error) => Err(lost(error)),
            }
        }))
    }

    /// Always `None`: RabbitMQ keeps no record of what was published to an exchange.
    /// After a takeover the relay publishes again from its checkpoint, and consumers'
    /// inboxes (which deduplicate by message id) absorb the redeliveries.
    async fn last_published(&self, _relay: &str) -> Result<Option<LogPosition>, PublishError> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_empty_exchange_is_refused_before_any_io() {
        let error = RabbitPublisher::connect(RabbitOptions::new("amqp://127.0.0.1:1/%2f", ""))
            .await
            .unwrap_err();
        assert!(matches!(error, RabbitError::Invalid(_)), "{error}");
        assert!(error.to_string().contains("exchange"), "{error}");
    }

    #[tokio::test]
    async fn a_failed_connect_names_the_host_and_not_the_password() {
        let options = RabbitOptions {
            connect_timeout: Duration::from_secs(2),
            ..RabbitOptions::new("amqp://guest:s3cret@127.0.0.1:1/%2f", "acci.events")
        };
        let error = RabbitPublisher::connect(options).await.unwrap_err();
        let text = error.to_string();
        assert!(text.contains("127.0.0.1:1"), "{text}");
        assert!(!text.contains("s3cret"), "{text}");
    }
}
