//! Hand-written confirmed publishing with each broker's raw client: the baseline the
//! relay's adapters are measured against.

pub mod nats;
pub mod rabbitmq;
pub mod target;
