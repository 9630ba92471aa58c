//! NATS JetStream for ACCI: events leave the process into a stream.
//!
//! [`NatsPublisher`] is the relay's [`Publisher`](acci_core::publish::Publisher): each
//! message is published to JetStream under its subject with its event id as
//! `Nats-Msg-Id`, and its [`Confirmation`](acci_core::publish::Confirmation) resolves
//! with the stream's publish acknowledgement. On a takeover it reads the stream's last
//! message to tell the relay where it stopped, so a restart never depends on the
//! deduplication window. [`NatsSubscriber`] is a
//! [`Subscriber`](acci_core::publish::Subscriber) on a durable pull consumer with
//! explicit acknowledgements. [`NatsOptions`] names the server and the stream;
//! [`NatsError`] is why setting up failed. `docs/integration.md` ("NATS JetStream")
//! states what an acknowledgement means and how failures behave.

mod error;
mod message;
mod options;
mod publisher;
mod subscriber;

pub use error::NatsError;
pub use options::NatsOptions;
pub use publisher::{NatsPublisher, delete_stream};
pub use subscriber::NatsSubscriber;
