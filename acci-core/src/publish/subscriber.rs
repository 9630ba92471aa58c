//! [`Subscriber`]: the receiving side an adapter implements, with an in-memory one over
//! [`InMemoryPublisher`] for tests.

use std::collections::VecDeque;

use async_trait::async_trait;

use super::incoming::IncomingMessage;
use super::memory::InMemoryPublisher;
use super::subject::{SubjectRule, matches};
use crate::ids::TenantId;
use crate::store::EventKind;

/// One message delivered to a subscriber, to be acknowledged or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The message.
    pub message: IncomingMessage,
    /// The broker's handle of this delivery (a RabbitMQ delivery tag, a JetStream
    /// sequence), for [`Subscriber::ack`] and [`Subscriber::nack`].
    pub tag: u64,
    /// Whether the broker delivered it before (it may have been processed already).
    pub redelivered: bool,
}

/// Why a subscriber call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubscribeError {
    /// The connection to the broker is gone; the adapter reconnects on the next call.
    #[error("the connection to the broker was lost: {0}")]
    Connection(String),
    /// The broker refused the subscription (no such stream, no right to it).
    #[error("the broker refused the subscription: {0}")]
    Refused(String),
}

/// Receives published events from a broker, by event kind: what an adapter implements
/// for consumers. Deliveries come in the broker's order, at least once: one not
/// acknowledged is delivered again, so a consumer deduplicates through an inbox
/// (acci-postgres's `Inbox`).
#[async_trait]
pub trait Subscriber: Send {
    /// Receives the events of `kinds` from now on (of `tenant`, or of every tenant),
    /// besides those subscribed to before.
    async fn subscribe(
        &mut self,
        tenant: Option<&TenantId>,
        kinds: &[EventKind],
    ) -> Result<(), SubscribeError>;

    /// Stops receiving the events of `kinds` (subscribed to with the same `tenant`).
    async fn unsubscribe(
        &mut self,
        tenant: Option<&TenantId>,
        kinds: &[EventKind],
    ) -> Result<(), SubscribeError>;

    /// The next delivery, waiting for one; `None` once the subscription has ended.
    async fn next(&mut self) -> Result<Option<Delivery>, SubscribeError>;

    /// Acknowledges `delivery`: the broker will not deliver it again.
    async fn ack(&mut self, delivery: &Delivery) -> Result<(), SubscribeError>;

    /// Gives `delivery` back: delivered again if `requeue`, else dropped (or sent to the
    /// broker's dead-letter exchange or stream, where one is set up).
    async fn nack(&mut self, delivery: &Delivery, requeue: bool) -> Result<(), SubscribeError>;
}

/// The subject patterns a subscriber holds, made by its [`SubjectRule`] from the event
/// kinds subscribed to: what a subscriber that filters on its own side keeps and
/// matches (the in-memory one; a JetStream consumer that reads a whole stream).
#[derive(Debug)]
pub struct Subscriptions {
    rule: Box<dyn SubjectRule>,
    patterns: Vec<String>,
}

impl Subscriptions {
    /// None yet, their patterns to be made by `rule`.
    pub fn new(rule: impl SubjectRule) -> Self {
        Self {
            rule: Box::new(rule),
            patterns: Vec::new(),
        }
    }

    /// Makes the patterns with `rule` from now on (the rule the relay publishes with).
    pub fn set_rule(&mut self, rule: impl SubjectRule) {
        self.rule = Box::new(rule);
    }

    /// Adds the pattern of each of `kinds` (of `tenant`, or of every tenant).
    pub fn add(&mut self, tenant: Option<&TenantId>, kinds: &[EventKind]) {
        for kind in kinds {
            let pattern = self.rule.pattern(tenant, kind);
            if !self.patterns.contains(&pattern) {
                self.patterns.push(pattern);
            }
        }
    }

    /// Removes the pattern of each of `kinds`, as [`add`](Self::add) made it.
    pub fn remove(&mut self, tenant: Option<&TenantId>, kinds: &[EventKind]) {
        for kind in kinds {
            let pattern = self.rule.pattern(tenant, kind);
            self.patterns.retain(|p| *p != pattern);
        }
    }

    /// Whether a message of `subject` is subscribed to.
    pub fn matches(&self, subject: &str) -> bool {
        self.patterns.iter().any(|p| matches(p, subject))
    }

    /// The patterns, in the order they were added.
    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }
}

/// A subscriber on an [`InMemoryPublisher`]: it delivers the messages the broker kept
/// whose subject matches a subscribed pattern, in order, and delivers a nacked one again
/// (first, before the rest) when asked to requeue. [`next`](Subscriber::next) answers
/// `None` when there is nothing more to deliver now, instead of waiting.
#[derive(Debug)]
pub struct InMemorySubscriber {
    broker: InMemoryPublisher,
    subscriptions: Subscriptions,
    /// The next kept message to look at.
    cursor: usize,
    /// Messages given back to be delivered again.
    requeued: VecDeque<(u64, IncomingMessage)>,
}

impl InMemorySubscriber {
    /// A subscriber on `broker`, whose subjects `rule` made; subscribed to nothing yet.
    pub fn new(broker: &InMemoryPublisher, rule: impl SubjectRule) -> Self {
        Self {
            broker: broker.clone(),
            subscriptions: Subscriptions::new(rule),
            cursor: 0,
            requeued: VecDeque::new(),
        }
    }
}

#[async_trait]
impl Subscriber for InMemorySubscriber {
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
        if let Some((tag, message)) = self.requeued.pop_front() {
            return Ok(Some(Delivery {
                message,
                tag,
                redelivered: true,
            }));
        }
        let kept = self.broker.kept();
        while let Some(message) = kept.get(self.cursor) {
            self.cursor += 1;
            if self.subscriptions.matches(&message.subject) {
                return Ok(Some(Delivery {
                    message: message.to_incoming(),
                    tag: self.cursor as u64,
                    redelivered: false,
                }));
            }
        }
        Ok(None)
    }

    async fn ack(&mut self, _delivery: &Delivery) -> Result<(), SubscribeError> {
        Ok(())
    }

    async fn nack(&mut self, delivery: &Delivery, requeue: bool) -> Result<(), SubscribeError> {
        if requeue {
            self.requeued
                .push_back((delivery.tag, delivery.message.clone()));
        }
        Ok(())
    }
}
