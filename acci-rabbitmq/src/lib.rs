//! RabbitMQ for ACCI: events leave the process through a topic exchange.
//!
//! [`RabbitPublisher`] is the relay's [`Publisher`](acci_core::publish::Publisher): each
//! message is published persistent and `mandatory` under its subject as routing key, on
//! a channel in confirm mode, and its [`Confirmation`](acci_core::publish::Confirmation)
//! resolves with the broker's publisher confirm. [`RabbitSubscriber`] is a
//! [`Subscriber`](acci_core::publish::Subscriber) on one durable queue (a consumer
//! group's), bound to the exchange by the subscribed event kinds. [`RabbitOptions`]
//! names the broker and the exchange; [`RabbitError`] is why setting up failed.
//! `docs/integration.md` ("RabbitMQ") states what a confirm means and how failures
//! behave.

mod error;
mod link;
mod options;
mod properties;
mod publisher;
mod subscriber;
mod topic;

pub use error::RabbitError;
pub use options::RabbitOptions;
pub use publisher::RabbitPublisher;
pub use subscriber::RabbitSubscriber;
pub use topic::topic_pattern;

pub use link::{delete_exchange, delete_queue};
