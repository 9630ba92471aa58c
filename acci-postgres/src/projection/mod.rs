//! The projection runner on PostgreSQL: read models kept current from the event log, each
//! event counted exactly once, across restarts and processes.
//!
//! One concept a module: [`options`](RunnerOptions) and the failure policy, the `lease`
//! (advisory locks on detached connections), the typed `checkpoint`, one `batch`,
//! `prepare` with its version check, `rebuild` and swap, `dead_letters` and the
//! `unreadable` events parked among them, `status`, and
//! the `runner` loop itself; [`RunnerError`] is what its calls return.

mod batch;
mod checkpoint;
mod dead_letters;
mod error;
mod health;
mod lag;
mod lease;
mod model;
mod observer;
mod options;
mod prepare;
mod query;
mod rebuild;
mod runner;
mod statements;
mod status;
mod tables;
mod unreadable;

pub use batch::RowMemory;
pub(crate) use checkpoint::{Advance, Checkpoint, Counts};
pub use dead_letters::{DeadLetter, Replayed};
pub(crate) use dead_letters::{failed_again, list_dead_letters, park, parked_event, unpark};
pub use error::{BatchError, EventFailure, HandleError, RunnerError};
pub(crate) use health::lease_key;
pub(crate) use lease::{Lock, detached_connection, unlock, wait_for_lock};
pub use model::{Custom, CustomProjection, RunnerModel, Table};
pub use observer::OBSERVER_TIMEOUT;
pub use options::{FailurePolicy, RunnerOptions};
pub use query::PgReadModels;
pub(crate) use runner::retry_wait;
pub use runner::{CustomProjectionRunner, MAX_RETRY_WAIT, ProjectionRunner, Runner};
pub use status::{Failing, ProjectionState, RunnerStatus};
pub(crate) use unreadable::park_unreadable;

/// The schema read-model tables live in.
pub const READ_MODEL_SCHEMA: &str = "read_models";

/// The channel appends notify on commit.
pub const EVENTS_CHANNEL: &str = "acci_events";
