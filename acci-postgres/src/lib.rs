//! The PostgreSQL event store for ACCI.
//!
//! [`PgEventStore`] implements [`acci_core::EventStore`] with the semantics of the
//! in-memory store (the shared conformance suite runs on both) and adds what only a
//! database gives: durability, optimistic concurrency enforced by a unique constraint,
//! command ids recorded in the same transaction as their events, a global log that never
//! skips a late commit, and tenant isolation by row-level security.
//!
//! ```no_run
//! # async fn run() -> Result<(), acci_core::StoreError> {
//! use acci_postgres::PgEventStore;
//!
//! let store = PgEventStore::connect("postgres://acci_service@127.0.0.1/app").await?;
//! store.migrate().await?;
//! # Ok(()) }
//! ```
//!
//! The schema, the global-order mechanism and the roles are described in
//! `docs/postgres.md`.

mod error;
pub mod health;
mod migrate;
pub mod observability;
pub mod projection;
pub mod relay;
mod rows;
mod store;
pub mod subscribe;
pub mod tenant;

pub use migrate::{FUNCTIONS, MIGRATIONS, Migration, SqlFunction};
pub use projection::{FailurePolicy, PgReadModels, ProjectionRunner, RunnerError, RunnerOptions};
pub use store::{GroupCommit, HorizonHolder, NOTIFY_INTERVAL, PING_IDLE_AFTER, PgEventStore};

/// The URL tests and examples use when `DATABASE_URL` is not set.
pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The group role the application logs in as a member of: one tenant at a time, under
/// row-level security.
pub const APP_ROLE: &str = "acci_app";

/// The group role whose members may read every tenant's events (projection runners).
pub const ALL_TENANTS_ROLE: &str = "acci_all_tenants";
