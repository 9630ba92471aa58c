//! [`NatsSubscriber`]: a durable pull consumer of the stream, with explicit
//! acknowledgements, filtered by the event kinds subscribed to.

use std::collections::HashMap;
use std::time::Duration;

use acci_core::publish::{
    DefaultSubject, Delivery, SubjectRule, SubscribeError, Subscriber, Subscriptions,
};
use acci_core::{EventKind, TenantId};
use async_nats::jetstream::AckKind;
use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, pull};
use async_trait::async_trait;
use futures_util::StreamExt;

use crate::error::NatsError;
use crate::message::to_incoming;
use crate::options::{NatsOptions, check_name};
use crate::publisher::{connect, setup};

/// Receives events from a JetStream stream through a durable pull consumer: every
/// subscriber connected with the same durable name shares its messages (a consumer
/// group), each delivered to one of them, and the consumer remembers what was
/// acknowledged across restarts. A new durable starts at the stream's first message, so
/// events published before the consumer existed are delivered too.
///
/// The consumer reads the whole stream and the subscriber keeps the messages whose
/// subject matches a subscribed pattern (NATS 2.9 filters a consumer by one subject
/// only); the others are acknowledged and passed over. At most `prefetch` deliveries
/// are unacknowledged; one not acknowledged within
/// [`ack_wait`](NatsOptions::ack_wait), or given back with
/// [`nack`](Subscriber::nack) and `requeue`, is delivered again (`redelivered` set).
pub struct NatsSubscriber {
    options: NatsOptions,
    durable: String,
    subscriptions: Subscriptions,
    idle: Option<Duration>,
    messages: pull::Stream,
    /// Deliveries handed out and not yet acknowledged, by stream sequence.
    pending: HashMap<u64, async_nats::jetstream::Message>,
}

impl std::fmt::Debug for NatsSubscriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsSubscriber")
            .field("host", &self.options.host())
            .field("stream", &self.options.stream)
            .field("durable", &self.durable)
            .field("patterns", &self.subscriptions.patterns())
            .finish_non_exhaustive()
    }
}

impl NatsSubscriber {
    /// Connects, creates the stream if [`create_stream`](NatsOptions::create_stream)
    /// says so, and creates (or finds) the durable pull consumer `durable`, with at most
    /// `prefetch` deliveries unacknowledged. Subscribed to nothing yet. Invalid options,
    /// an invalid name or a zero prefetch are refused before any I/O.
    pub async fn connect(
        options: NatsOptions,
        durable: &str,
        prefetch: u16,
    ) -> Result<Self, NatsError> {
        options.validate()?;
        check_name("JetStream consumer name", durable)?;
        if prefetch == 0 {
            return Err(acci_core::ValidationError::new(
                "JetStream prefetch",
                "is 0; nothing would be delivered",
            )
            .into());
        }
        let context = async_nats::jetstream::new(connect(&options).await?);
        let stream = if options.create_stream {
            context
                .get_or_create_stream(async_nats::jetstream::stream::Config {
                    name: options.stream.clone(),
                    subjects: options.subjects.clone(),
                    duplicate_window: options.duplicate_window,
                    ..Default::default()
                })
                .await
                .map_err(|e| {
                    setup(
                        &options,
                        format!("create the stream `{}`", options.stream),
                        e,
                    )
                })?
        } else {
            context
                .get_stream(&options.stream)
                .await
                .map_err(|e| setup(&options, format!("find the stream `{}`", options.stream), e))?
        };
        let consumer = stream
            .get_or_create_consumer(
                durable,
                pull::Config {
                    durable_name: Some(durable.to_owned()),
                    ack_policy: AckPolicy::Explicit,
                    deliver_policy: DeliverPolicy::All,
                    ack_wait: options.ack_wait,
                    max_ack_pending: i64::from(prefetch),
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| setup(&options, format!("create the consumer `{durable}`"), e))?;
        let messages = consumer
            .messages()
            .await
            .map_err(|e| setup(&options, format!("consume with `{durable}`"), e))?;
        Ok(Self {
            options,
            durable: durable.to_owned(),
            subscriptions: Subscriptions::new(DefaultSubject::default()),
            idle: None,
            messages,
            pending: HashMap::new(),
        })
    }

    /// Subscribes by the patterns of `rule` (the relay's [`SubjectRule`]);
    /// [`DefaultSubject::default`] unless told.
    pub fn with_subject(mut self, rule: impl SubjectRule) -> Self {
        self.subscriptions.set_rule(rule);
        self
    }

    /// After `idle` without a delivery, [`next`](Subscriber::next) answers `None`, so
    /// that [`Inbox::consume`](https://docs.rs/acci-postgres) returns; without it, `next`
    /// waits as long as it takes.
    pub fn with_idle_timeout(mut self, idle: Duration) -> Self {
        self.idle = Some(idle);
        self
    }

    /// The durable consumer's name.
    pub fn durable(&self) -> &str {
        &self.durable
    }

    fn lost(&self, error: impl std::fmt::Display) -> SubscribeError {
        SubscribeError::Connection(format!(
            "consumer `{}` of `{}`: {error}",
            self.durable, self.options.stream
        ))
    }
}

#[async_trait]
impl Subscriber for NatsSubscriber {
    async fn subscribe(
        &mut self,
        tenant: Option<&TenantId>,
        kinds: &[EventKind],
    ) -> Result<(), SubscribeError> {
        self.subscriptions.add(tenant, kinds);
        Ok(())
    }

    async fn unsubscribe(
        &mut self,
        tenant: Option<&TenantId>,
        kinds: &[EventKind],
    ) -> Result<(), SubscribeError> {
        self.subscriptions.remove(tenant, kinds);
        Ok(())
    }

    async fn next(&mut self) -> Result<Option<Delivery>, SubscribeError> {
        loop {
            let next = match self.idle {
                Some(idle) => match tokio::time::timeout(idle, self.messages.next()).await {
                    Ok(next) => next,
                    Err(_) => return Ok(None),
                },
                None => self.messages.next().await,
            };
            let Some(message) = next else { return Ok(None) };
            let message = message.map_err(|e| self.lost(e))?;
            let subject = message.subject.to_string();
            if !self.subscriptions.matches(&subject) {
                message.ack().await.map_err(|e| self.lost(e))?;
                continue;
            }
            let info = message.info().map_err(|e| self.lost(e))?;
            let (tag, redelivered) = (info.stream_sequence, info.delivered > 1);
            let incoming = to_incoming(&subject, message.headers.as_ref(), &message.payload);
            self.pending.insert(tag, message);
            return Ok(Some(Delivery {
                message: incoming,
                tag,
                redelivered,
            }));
        }
    }

    async fn ack(&mut self, delivery: &Delivery) -> Result<(), SubscribeError> {
        let Some(message) = self.pending.remove(&delivery.tag) else {
            return Err(self.lost(format!(
                "no delivery {} is waiting for its acknowledgement",
                delivery.tag
            )));
        };
        // Waits for the server to confirm: an acknowledgement lost on the way would have
        // the message delivered again, which the inbox absorbs, but the caller should know.
        message.double_ack().await.map_err(|e| self.lost(e))
    }

    async fn nack(&mut self, delivery: &Delivery, requeue: bool) -> Result<(), SubscribeError> {
        let Some(message) = self.pending.remove(&delivery.tag) else {
            return Err(self.lost(format!(
                "no delivery {} is waiting for its acknowledgement",
                delivery.tag
            )));
        };
        let kind = if requeue {
            AckKind::Nak(None)
        } else {
            AckKind::Term
        };
        message.ack_with(kind).await.map_err(|e| self.lost(e))
    }
}
