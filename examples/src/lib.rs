//! Runnable ACCI applications. Each binary prints a transcript of what it does:
//!
//! - `cargo run -p acci-examples --bin bank-account`: a bank account on the in-memory
//!   store, from opening to snapshots (`-- --database-url …` for PostgreSQL).
//! - `cargo run -p acci-examples --bin tenants-and-users`: tenants and users on
//!   PostgreSQL, with the read models a reader queries.
//! - `cargo run -p acci-examples --bin bank-service`: the bank domain as an HTTP service
//!   (axum), with health, Prometheus metrics and JSON logs; see [`service`]. With
//!   `--publish-to AMQP_URL` its relay publishes every event to RabbitMQ.
//! - `cargo run -p acci-examples --bin bank-ledger`: the other side, a ledger in a database
//!   of its own fed from RabbitMQ, each message processed once; see [`ledger`].
//!
//! The benchmark program is a crate of its own, `acci-bench` (see `docs/performance.md`).

pub mod bank;
pub mod bank_view;
pub mod ledger;
pub mod service;
pub mod users;
