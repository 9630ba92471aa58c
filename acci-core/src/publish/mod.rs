//! Publication: the events of the log as broker messages, and back.
//!
//! A relay (acci-postgres's `Relay`) tails the global log and hands each event to a
//! [`Publisher`] as an [`OutgoingMessage`]: the event id as message id, a subject from
//! a [`SubjectRule`] ([`DefaultSubject`]: `acci.<tenant>.<aggregate type>.<event type>`),
//! the envelope in [`headers`], the payload as JSON text. The publisher answers each
//! message with a [`Confirmation`]; the relay keeps a bounded window of them and moves
//! its checkpoint only over confirmed messages, so delivery is at least once, in order
//! per stream.
//!
//! On the other side a [`Subscriber`] delivers [`IncomingMessage`]s, which
//! [`IncomingMessage::decode`] turns back into `Recorded<E>` for the application's event
//! enum, upcasting older schema versions. [`InMemoryPublisher`] and
//! [`InMemorySubscriber`] are a broker in memory for tests, with faults on demand.
//! `docs/integration.md` describes the guarantees and the failure behaviour.

mod escape;
pub mod headers;
mod incoming;
mod memory;
mod outgoing;
mod publisher;
mod subject;
mod subscriber;

pub use incoming::{IncomingError, IncomingMessage, log_position};
pub use memory::{Fault, InMemoryPublisher};
pub use outgoing::OutgoingMessage;
pub use publisher::{Confirmation, PublishError, Publisher, broker_host};
pub use subject::{DefaultSubject, RESERVED, SubjectRule, matches};
pub use subscriber::{Delivery, InMemorySubscriber, SubscribeError, Subscriber, Subscriptions};
