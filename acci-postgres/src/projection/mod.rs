//! The projection runner on PostgreSQL: read models kept current from the event log, each
//! event counted exactly once, across restarts and processes.

mod batch;
mod model;
mod query;
mod runner;
mod statements;

pub use batch::{BatchError, RowMemory};
pub use model::{Custom, CustomProjection, RunnerModel, Table};
pub use query::PgReadModels;
pub use runner::{
    CustomProjectionRunner, DeadLetter, FailurePolicy, ProjectionRunner, ProjectionState, Replayed,
    Runner, RunnerOptions, RunnerStatus,
};

/// The schema read-model tables live in.
pub const READ_MODEL_SCHEMA: &str = "read_models";

/// The channel appends notify on commit.
pub const EVENTS_CHANNEL: &str = "acci_events";
