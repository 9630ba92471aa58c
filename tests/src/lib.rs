//! Cross-crate tests of ACCI.
//!
//! - [`conformance`]: the contract every event store keeps, written once, generic over
//!   [`acci_core::EventStore`], run for each store with
//!   [`conformance_tests!`](crate::conformance_tests).
//! - [`capture`]: what the instrumentation emitted, from a local recorder and subscriber.
//! - [`events`]: small events and streams for tests that need rows, not a domain.
//! - [`pg`]: a migrated PostgreSQL database per test, dropped afterwards.
//! - [`proxy`]: a TCP proxy that drops or stalls connections, for fault tests.
//! - [`redis`]: a key prefix per test on Redis, its keys deleted afterwards.
//! - [`relay`]: what the broker adapters' relay tests share.
//! - `tests/`: the suite on the in-memory store, the command path end to end, and the
//!   macros' compile-fail (`ui/`) and lint tests.

pub mod capture;
pub mod conformance;
pub mod events;
#[cfg(doctest)]
pub mod guides;
pub mod pg;
pub mod proxy;
pub mod redis;
pub mod relay;
