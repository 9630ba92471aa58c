//! [`RabbitSubscriber`]: a consumer group's durable queue, bound to the exchange by the
//! event kinds subscribed to.

use std::time::Duration;

use acci_core::publish::{DefaultSubject, Delivery, SubjectRule, SubscribeError, Subscriber};
use acci_core::{EventKind, TenantId};
use async_trait::async_trait;
use futures_util::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions, QueueBindOptions,
    QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{Channel, Consumer};

use crate::error::RabbitError;
use crate::link::{Link, open, setup};
use crate::options::{RabbitOptions, check_name};
use crate::properties::to_incoming;
use crate::topic::topic_pattern;

/// The bits of a [`Delivery::tag`] that hold the AMQP delivery tag; the bits above
/// count the channels, since a delivery tag means something on its own channel only.
const TAG_BITS: u32 = 48;

/// The longest routing or binding key AMQP carries, in bytes.
const MAX_KEY_BYTES: usize = 255;

/// Receives events from a durable RabbitMQ queue: every subscriber connected with the
/// same queue name shares its messages (a consumer group), each delivered to one of
/// them. [`subscribe`](Subscriber::subscribe) binds the queue to the exchange with the
/// [`SubjectRule`]'s pattern as topic binding key ([`topic_pattern`]); the bindings and
/// the queue outlive the subscriber, so events published while no one consumes wait
/// in the queue.
///
/// At most `prefetch` deliveries are unacknowledged at a time. A delivery not
/// acknowledged when the connection drops is delivered again (`redelivered` set), to
/// this subscriber or another of the group; a consumer deduplicates through its inbox.
/// After a lost connection the next call connects again; acknowledging a delivery of
/// the lost connection then fails with [`SubscribeError::Connection`].
pub struct RabbitSubscriber {
    options: RabbitOptions,
    queue: String,
    prefetch: u16,
    rule: Box<dyn SubjectRule>,
    idle: Option<Duration>,
    bindings: Vec<String>,
    link: Option<Link>,
    consumer: Option<Consumer>,
    /// How many channels were opened: the high bits of each delivery's tag.
    generation: u64,
}

impl std::fmt::Debug for RabbitSubscriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RabbitSubscriber")
            .field("host", &self.options.host())
            .field("exchange", &self.options.exchange)
            .field("queue", &self.queue)
            .field("bindings", &self.bindings)
            .finish_non_exhaustive()
    }
}

impl RabbitSubscriber {
    /// Connects, declares the exchange (if
    /// [`declare_exchange`](RabbitOptions::declare_exchange)) and the durable queue
    /// `queue`, and sets the prefetch limit (at least 1). Invalid options or names are
    /// refused before any I/O.
    pub async fn connect(
        options: RabbitOptions,
        queue: &str,
        prefetch: u16,
    ) -> Result<Self, RabbitError> {
        options.validate()?;
        check_name("RabbitMQ queue name", queue)?;
        if prefetch == 0 {
            return Err(acci_core::ValidationError::new(
                "RabbitMQ prefetch",
                "is 0, which RabbitMQ reads as unlimited; give a bound",
            )
            .into());
        }
        let mut subscriber = Self {
            options,
            queue: queue.to_owned(),
            prefetch,
            rule: Box::new(DefaultSubject::default()),
            idle: None,
            bindings: Vec::new(),
            link: None,
            consumer: None,
            generation: 0,
        };
        subscriber.link = Some(subscriber.open().await?);
        Ok(subscriber)
    }

    /// Builds the binding patterns with `rule` instead of [`DefaultSubject`]: the rule
    /// the relay publishes with.
    pub fn with_subject(mut self, rule: impl SubjectRule) -> Self {
        self.rule = Box::new(rule);
        self
    }

    /// Makes [`next`](Subscriber::next) answer `None` once no delivery came for
    /// `idle`, so that `Inbox::consume` returns when the queue is drained. Without it
    /// `next` waits as long as the connection lives.
    pub fn with_idle_timeout(mut self, idle: Duration) -> Self {
        self.idle = Some(idle);
        self
    }

    /// The queue's name.
    pub fn queue(&self) -> &str {
        &self.queue
    }

    /// Closes the connection. The broker delivers again every delivery not
    /// acknowledged, as it does when a consumer process dies.
    pub async fn close(mut self) -> Result<(), SubscribeError> {
        self.consumer = None;
        match self.link.take() {
            Some(link) => link
                .connection
                .close(200, "closing".into())
                .await
                .map_err(|e| SubscribeError::Connection(e.to_string())),
            None => Ok(()),
        }
    }

    /// Opens a channel with the prefetch limit, declares the queue and binds it with
    /// every key subscribed to so far.
    async fn open(&mut self) -> Result<Link, RabbitError> {
        let link = open(&self.options).await?;
        let options = &self.options;
        let queue = &self.queue;
        link.channel
            .basic_qos(self.prefetch, BasicQosOptions::default())
            .await
            .map_err(|e| setup(options, format!("set the prefetch of `{queue}`"), e))?;
        let durable = QueueDeclareOptions {
            durable: true,
            ..QueueDeclareOptions::default()
        };
        link.channel
            .queue_declare(queue.as_str().into(), durable, FieldTable::default())
            .await
            .map_err(|e| setup(options, format!("declare the queue `{queue}`"), e))?;
        for key in &self.bindings {
            bind(&link.channel, options, queue, key)
                .await
                .map_err(|e| setup(options, format!("bind `{queue}` to `{key}`"), e))?;
        }
        self.generation += 1;
        Ok(link)
    }

    /// The open link's channel, connecting again if the last one died.
    async fn channel(&mut self) -> Result<Channel, SubscribeError> {
        if !self.link.as_ref().is_some_and(Link::is_open) {
            self.link = None;
            self.consumer = None;
            let link = self
                .open()
                .await
                .map_err(|e| SubscribeError::Connection(e.to_string()))?;
            self.link = Some(link);
        }
        self.link
            .as_ref()
            .map(|l| l.channel.clone())
            .ok_or_else(|| SubscribeError::Connection("no connection".to_owned()))
    }

    /// The error of a failed call: a refusal if the connection still stands (the
    /// broker closed the channel over it), else a lost connection. Either way the link
    /// is dropped, and the next call opens a new channel.
    fn failed(&mut self, error: lapin::Error) -> SubscribeError {
        let connected = self
            .link
            .as_ref()
            .is_some_and(|l| l.connection.status().connected());
        self.link = None;
        self.consumer = None;
        if connected {
            SubscribeError::Refused(error.to_string())
        } else {
            SubscribeError::Connection(error.to_string())
        }
    }

    /// The binding keys of `kinds` of `tenant`; refuses one longer than AMQP carries.
    fn keys(
        &self,
        tenant: Option<&TenantId>,
        kinds: &[EventKind],
    ) -> Result<Vec<String>, SubscribeError> {
        kinds
            .iter()
            .map(|kind| {
                let key = topic_pattern(&self.rule.pattern(tenant, kind));
                if key.len() > MAX_KEY_BYTES {
                    return Err(SubscribeError::Refused(format!(
                        "the binding key `{key}` is longer than AMQP's {MAX_KEY_BYTES} bytes"
                    )));
                }
                Ok(key)
            })
            .collect()
    }

    /// The AMQP delivery tag of `delivery`, if it came on the channel open now.
    fn tag_of(&self, delivery: &Delivery) -> Result<u64, SubscribeError> {
        let current = self.link.as_ref().is_some_and(Link::is_open)
            && delivery.tag >> TAG_BITS == self.generation;
        if !current {
            return Err(SubscribeError::Connection(format!(
                "the delivery of `{}` came on a channel that has closed since; \
                 the broker delivers it again",
                delivery.message.subject
            )));
        }
        Ok(delivery.tag & ((1 << TAG_BITS) - 1))
    }
}

async fn bind(
    channel: &Channel,
    options: &RabbitOptions,
    queue: &str,
    key: &str,
) -> Result<(), lapin::Error> {
    channel
        .queue_bind(
            queue.into(),
            options.exchange.as_str().into(),
            key.into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
}

#[async_trait]
impl Subscriber for RabbitSubscriber {
    async fn subscribe(
        &mut self,
        tenant: Option<&TenantId>,
        kinds: &[EventKind],
    ) -> Result<(), SubscribeError> {
        for key in self.keys(tenant, kinds)? {
            let channel = self.channel().await?;
            if let Err(error) = bind(&channel, &self.options, &self.queue, &key).await {
                return Err(self.failed(error));
            }
            if !self.bindings.contains(&key) {
                self.bindings.push(key);
            }
        }
        Ok(())
    }

    async fn unsubscribe(
        &mut self,
        tenant: Option<&TenantId>,
        kinds: &[EventKind],
    ) -> Result<(), SubscribeError> {
        for key in self.keys(tenant, kinds)? {
            let channel = self.channel().await?;
            let unbound = channel
                .queue_unbind(
                    self.queue.as_str().into(),
                    self.options.exchange.as_str().into(),
                    key.as_str().into(),
                    FieldTable::default(),
                )
                .await;
            if let Err(error) = unbound {
                return Err(self.failed(error));
            }
            self.bindings.retain(|k| *k != key);
        }
        Ok(())
    }

    async fn next(&mut self) -> Result<Option<Delivery>, SubscribeError> {
        if self.consumer.is_none() {
            let channel = self.channel().await?;
            let consumer = channel
                .basic_consume(
                    self.queue.as_str().into(),
                    "".into(),
                    BasicConsumeOptions::default(),
                    FieldTable::default(),
                )
                .await;
            match consumer {
                Ok(consumer) => self.consumer = Some(consumer),
                Err(error) => return Err(self.failed(error)),
            }
        }
        let Some(consumer) = self.consumer.as_mut() else {
            return Ok(None);
        };
        let item = match self.idle {
            Some(idle) => match tokio::time::timeout(idle, consumer.next()).await {
                Ok(item) => item,
                Err(_) => return Ok(None),
            },
            None => consumer.next().await,
        };
        match item {
            Some(Ok(delivery)) => Ok(Some(Delivery {
                message: to_incoming(
                    delivery.routing_key.as_str(),
                    &delivery.properties,
                    delivery.data,
                ),
                tag: self.generation << TAG_BITS | delivery.delivery_tag,
                redelivered: delivery.redelivered,
            })),
            Some(Err(error)) => Err(self.failed(error)),
            // The broker cancelled the consumer (the queue was deleted).
            None => {
                self.consumer = None;
                Ok(None)
            }
        }
    }

    async fn ack(&mut self, delivery: &Delivery) -> Result<(), SubscribeError> {
        let tag = self.tag_of(delivery)?;
        let acked = match self.link.as_ref() {
            Some(link) => {
                link.channel
                    .basic_ack(tag, BasicAckOptions::default())
                    .await
            }
            None => return Err(SubscribeError::Connection("no connection".to_owned())),
        };
        acked.map_err(|e| self.failed(e))
    }

    async fn nack(&mut self, delivery: &Delivery, requeue: bool) -> Result<(), SubscribeError> {
        let tag = self.tag_of(delivery)?;
        let options = BasicNackOptions {
            requeue,
            ..BasicNackOptions::default()
        };
        let nacked = match self.link.as_ref() {
            Some(link) => link.channel.basic_nack(tag, options).await,
            None => return Err(SubscribeError::Connection("no connection".to_owned())),
        };
        nacked.map_err(|e| self.failed(e))
    }
}
