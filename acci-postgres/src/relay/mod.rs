//! The relay: events leave the process through a broker, with the log as the outbox.
//!
//! [`Relay`] tails the global log like a projection (its checkpoint, its lease, its dead
//! letters are the projection runner's) and publishes through an
//! [`acci_core::publish::Publisher`] within a bounded window of unconfirmed messages;
//! [`RelayOptions`] sets the window and the timeouts, [`RelayError`] is what its calls
//! return. `docs/integration.md` states the guarantees.

mod drain;
mod error;
mod options;
mod publish;
mod replay;
mod window;

pub use error::RelayError;
pub use options::RelayOptions;
pub use publish::Relay;
