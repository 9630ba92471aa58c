//! Runnable ACCI applications. Each binary prints a transcript of what it does:
//!
//! - `cargo run -p acci-examples --bin bank-account`: a bank account on the in-memory
//!   store, from opening to snapshots.

pub mod bank;
