//! Runnable ACCI applications. Each binary prints a transcript of what it does:
//!
//! - `cargo run -p acci-examples --bin bank-account`: a bank account on the in-memory
//!   store, from opening to snapshots (`-- --database-url …` for PostgreSQL).
//! - `cargo run -p acci-examples --bin tenants-and-users`: tenants and users on
//!   PostgreSQL, with the read models a reader queries.
//! - `cargo run --release -p acci-examples --bin pg-append-rate` and `--bin
//!   pg-catchup-rate`: throughput against plain-SQL baselines.

pub mod bank;
pub mod users;
