//! PostgreSQL adapter for ACCI.
//!
//! This crate will hold `PgEventStore`, its embedded migrations, the projection runner and
//! the read-model SQL. Until it does, use [`acci_core::InMemoryEventStore`], which has the
//! semantics the PostgreSQL store is held to by the shared conformance suite.

pub use acci_core;
