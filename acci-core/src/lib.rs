#![doc = include_str!("../../README.md")]
#![warn(missing_docs)]

mod aggregate;
pub mod authorization;
mod error;
mod event;
mod ids;
mod metadata;
pub mod observability;
pub mod projection;
pub mod publish;
pub mod query;
mod repository;
mod store;
pub mod testing;

pub use aggregate::{Aggregate, Apply, Handle};
pub use error::{
    CommandError, ConcurrencyConflict, DecodeError, DecodeFailure, StoreError, ValidationError,
};
pub use event::{AggregateEvent, Event, EventEnum, NewEvent, Payload, Recorded, StoredEvent};
pub use ids::{
    AggregateId, CommandId, EventId, MAX_AGGREGATE_ID_BYTES, MAX_TENANT_ID_BYTES,
    MAX_TYPE_NAME_BYTES, StreamId, TenantId, validate_type_name,
};
pub use metadata::Metadata;
pub use projection::{Project, ProjectKey, Projection, ProjectionError};
pub use repository::{
    AsOf, CacheStats, Command, CommandOutcome, Execution, LoadError, Loaded, Repository,
    RetryPolicy,
};
pub use store::{
    AggregateLoad, AppendOutcome, Appended, CommandRecord, EventKind, EventStore, ExpectedVersion,
    InMemoryEventStore, LogBatch, LogCut, LogPosition, MAX_EVENTS_PER_APPEND, MAX_JSON_DEPTH,
    MAX_READ_BATCH, MAX_READ_JSON_DEPTH, MAX_SCHEMA_VERSION, MAX_STORED_NUMBER,
    MIN_STORED_TIME_MICROS, ReadAll, Snapshot, TenantBound, TenantScope, canonical_json,
    check_json, json_text_depth, stored_time, validate_expected, validate_new_events,
    validate_read, validate_snapshot, validate_stream,
};

#[cfg(feature = "derive")]
#[doc = include_str!("docs/event.md")]
pub use acci_macros::event;

#[cfg(feature = "derive")]
#[doc = include_str!("docs/aggregate.md")]
pub use acci_macros::Aggregate;

#[cfg(feature = "derive")]
#[doc = include_str!("docs/projection.md")]
pub use acci_macros::projection;

/// Everything a module of domain code needs: `use acci_core::prelude::*;`.
pub mod prelude {
    // `Aggregate` names the trait and, with the `derive` feature, the derive as well.
    pub use crate::Aggregate;
    #[cfg(feature = "derive")]
    pub use crate::event;
    pub use crate::{
        AggregateId, Apply, Command, CommandError, CommandId, Event, EventEnum, EventStore,
        ExpectedVersion, Handle, InMemoryEventStore, Metadata, Project, ProjectKey, Projection,
        ProjectionError, Recorded, Repository, RetryPolicy, TenantId, ValidationError,
    };

    // The attribute only: `crate::projection` would bring the module of that name too.
    #[cfg(feature = "derive")]
    pub use acci_macros::projection;
}

/// What the generated code names. Not part of the API: it changes without notice.
#[doc(hidden)]
pub mod __private {
    pub use serde;
    pub use serde_json;

    pub use crate::aggregate::{NoCommand, Records};
    pub use crate::event::{
        EventField, FieldProbe, ProbeNotStored, ProbeStored, assert_event_field, decode_current,
        field_probe, unsupported_version,
    };
    pub use crate::projection::{
        KeyByAggregateId, KeyByImpl, KeyFromAggregateId, KeyProbe, ListsEvent, decode_recorded,
    };
    #[cfg(feature = "derive")]
    pub use acci_macros::__serde_attributes as serde_attributes;

    /// Whether two strings are equal, at compile time: the generated checks use it to
    /// find two events of one aggregate stored under the same name.
    pub const fn str_eq(a: &str, b: &str) -> bool {
        let (a, b) = (a.as_bytes(), b.as_bytes());
        if a.len() != b.len() {
            return false;
        }
        let mut i = 0;
        while i < a.len() {
            if a[i] != b[i] {
                return false;
            }
            i += 1;
        }
        true
    }

    /// The decode error for a failed JSON-level upcast.
    pub fn upcast_failed<E: crate::Event>(
        found: u32,
        error: impl core::fmt::Display,
    ) -> crate::DecodeError {
        crate::DecodeError::new(
            E::EVENT_TYPE,
            found,
            crate::DecodeFailure::Upcast(error.to_string()),
        )
    }
}
