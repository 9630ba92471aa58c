//! Projections: read models kept current from the event log.
//!
//! A read model is a struct with `#[projection(table = "…", events(A, B))]`. The macro
//! implements [`Projection`]: the table's SQL ([`TableSpec`]), decoding of the listed
//! events, and dispatch of each to the user's [`Project<E>`] impl. Runners (in memory
//! here, on PostgreSQL in `acci-postgres`) feed it from the global log.

mod memory;
mod table;

use std::fmt::Debug;
use std::hash::Hash;

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use memory::{InMemoryProjection, InMemoryReadModels, ProjectionStatus};
pub use table::{ColumnSpec, FinderSpec, TableSpec};

use crate::error::DecodeError;
use crate::event::{Recorded, StoredEvent};
use crate::ids::AggregateId;

/// A read model: one row per key, fed by events. Implemented by `#[projection]`.
///
/// The runner reads only [`EVENT_TYPES`](Projection::EVENT_TYPES), decodes each event
/// with [`decode`](Projection::decode), finds the row it changes with
/// [`event_key`](Projection::event_key), and applies it with
/// [`project_event`](Projection::project_event); a row that is `None` afterwards is
/// deleted.
pub trait Projection: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {
    /// The projection's name: its table, and the key of its checkpoint.
    const NAME: &'static str;
    /// The read model's version (`version = N`); a changed version rebuilds it.
    const VERSION: u32;
    /// The stored names of the events it reads, in the order of `events(...)`.
    const EVENT_TYPES: &'static [&'static str];
    /// The table and its SQL.
    const TABLE: &'static TableSpec;

    /// The row key: one field, or a tuple of the key fields in declaration order.
    type Key: Clone + Eq + Ord + Hash + Debug + Serialize + DeserializeOwned + Send + Sync + 'static;
    /// The listed events, decoded, each in its envelope.
    type Event: Debug + Send + Sync;

    /// This row's key.
    fn row_key(&self) -> Self::Key;

    /// Decodes a stored event of one of the listed types, upcasting old versions.
    fn decode(event: StoredEvent) -> Result<Self::Event, DecodeError>;

    /// The key of the row `event` changes: the event's [`Project::key`].
    fn event_key(event: &Self::Event) -> Result<Self::Key, ProjectionError>;

    /// Applies `event` to the row with its [`Project::project`].
    fn project_event(row: &mut Option<Self>, event: &Self::Event);

    /// The key made from an aggregate id: what [`Project::key`] returns unless overridden.
    /// A projection with a composite key says here that its impls must override `key`.
    fn key_from_aggregate_id(id: &AggregateId) -> Result<Self::Key, String>;
}

/// How a read model changes when event `E` happens. One impl per listed event.
#[diagnostic::on_unimplemented(
    message = "`{Self}` lists `{E}` in `events(...)` but does not project it",
    label = "no `Project<{E}>` impl for `{Self}`",
    note = "add `impl Project<{E}> for {Self} {{ fn project(row: &mut Option<Self>, event: &Recorded<{E}>) {{ … }} }}`"
)]
pub trait Project<E>: Projection {
    /// The key of the row this event changes. By default the aggregate id, converted to
    /// the key type; override it to key rows otherwise (a row per tenant, say).
    #[inline]
    fn key(event: &Recorded<E>) -> Result<Self::Key, ProjectionError> {
        Self::key_from_aggregate_id(&event.stream.aggregate_id)
            .map_err(|reason| ProjectionError::key(event, reason))
    }

    /// Changes the row: `*row` is `None` when no row has the key yet. Leave it `None`, or
    /// set it to `None`, to have no row (a stored one is deleted).
    fn project(row: &mut Option<Self>, event: &Recorded<E>);
}

/// Projecting an event failed.
#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    /// The event could not be decoded.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The row key could not be made from the event.
    #[error("no row key for event {event_id} of type `{event_type}`: {reason}")]
    Key {
        /// The event's id.
        event_id: crate::ids::EventId,
        /// Its stored type.
        event_type: String,
        /// What went wrong.
        reason: String,
    },
    /// The read model's storage failed.
    #[error("read model storage failed: {0}")]
    Storage(String),
}

impl ProjectionError {
    /// The error for an event whose key cannot be made.
    pub fn key<E>(event: &Recorded<E>, reason: impl Into<String>) -> Self {
        ProjectionError::Key {
            event_id: event.event_id,
            event_type: event.event_type.clone(),
            reason: reason.into(),
        }
    }
}

/// Keys made from an aggregate id: `String`, integers and `Uuid` parse from it.
pub trait KeyFromAggregateId: Sized {
    /// Parses the key, or says why it cannot.
    fn from_aggregate_id(id: &AggregateId) -> Result<Self, String>;
}

impl KeyFromAggregateId for String {
    #[inline]
    fn from_aggregate_id(id: &AggregateId) -> Result<Self, String> {
        Ok(id.as_str().to_owned())
    }
}

impl KeyFromAggregateId for uuid::Uuid {
    fn from_aggregate_id(id: &AggregateId) -> Result<Self, String> {
        id.as_str()
            .parse()
            .map_err(|e| format!("aggregate id `{id}` is not a UUID: {e}"))
    }
}

macro_rules! integer_keys {
    ($($ty:ty),*) => {$(
        impl KeyFromAggregateId for $ty {
            fn from_aggregate_id(id: &AggregateId) -> Result<Self, String> {
                id.as_str().parse().map_err(|e| format!("aggregate id `{id}` is not a {}: {e}", stringify!($ty)))
            }
        }
    )*};
}

integer_keys!(i16, i32, i64);

/// Decodes one listed event of a projection into its envelope.
///
/// Used by the code `#[projection]` generates.
#[inline]
pub fn decode_recorded<E: crate::Event>(event: StoredEvent) -> Result<Recorded<E>, DecodeError> {
    let event_id = event.event_id;
    let mut payload = serde_json::Value::Null;
    let recorded = event.map(|data| payload = data);
    let data =
        E::decode(recorded.schema_version, payload).map_err(|e| e.with_event_id(event_id))?;
    Ok(recorded.map(|()| data))
}
