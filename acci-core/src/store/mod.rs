//! The [`EventStore`] trait every storage backend implements, and the values it speaks in.
//!
//! The semantics are the contract the conformance suite in the `acci-tests` package pins
//! down; [`InMemoryEventStore`] and the PostgreSQL store both pass it.

mod bound;
mod cut;
mod json;
mod memory;
mod selection;
mod validate;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use bound::TenantBound;
pub use cut::LogCut;
pub use json::{MAX_JSON_DEPTH, MAX_READ_JSON_DEPTH, canonical_json, check_json, json_text_depth};
pub use memory::InMemoryEventStore;
pub use selection::EventKind;
pub use validate::{
    MAX_EVENTS_PER_APPEND, MAX_READ_BATCH, MAX_SCHEMA_VERSION, MAX_STORED_NUMBER,
    MIN_STORED_TIME_MICROS, stored_time, validate_expected, validate_new_events, validate_read,
    validate_snapshot, validate_stream,
};

use crate::error::StoreError;
use crate::event::{AggregateEvent, NewEvent, StoredEvent};
use crate::ids::{CommandId, StreamId, TenantId};

/// What the caller believes the stream's version is when it appends.
///
/// A stream's version is the sequence number of its last event; a stream that does not
/// exist is at version 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ExpectedVersion {
    /// Append whatever the version is.
    Any,
    /// The stream must not exist yet.
    NoStream,
    /// The stream must be at exactly this version (0 means it must not exist).
    Exactly(u64),
}

impl ExpectedVersion {
    /// Whether a stream at `actual` satisfies this expectation.
    pub fn matches(self, actual: u64) -> bool {
        match self {
            ExpectedVersion::Any => true,
            ExpectedVersion::NoStream => actual == 0,
            ExpectedVersion::Exactly(v) => actual == v,
        }
    }
}

impl fmt::Display for ExpectedVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExpectedVersion::Any => f.write_str("any version"),
            ExpectedVersion::NoStream => f.write_str("no stream"),
            ExpectedVersion::Exactly(v) => write!(f, "version {v}"),
        }
    }
}

/// A place in the global log, and the token a reader resumes from.
///
/// Ordered by `commit`, then `position`. `commit` orders the writing transactions in the
/// order they became visible (PostgreSQL: the transaction id; in memory: a commit
/// counter); `position` is the event's unique global number. A reader that has passed a
/// `LogPosition` never later finds a committed event before it.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub struct LogPosition {
    /// The writing transaction's place in commit order.
    pub commit: u64,
    /// The event's global number, unique across the store.
    pub position: u64,
}

impl LogPosition {
    /// Before the first event: read from here to read everything.
    pub const START: LogPosition = LogPosition {
        commit: 0,
        position: 0,
    };
}

impl fmt::Display for LogPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.commit, self.position)
    }
}

/// What a successful append stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// The sequence number of the first event appended.
    pub first_sequence: u64,
    /// The sequence number of the last event appended: the stream's new version.
    pub last_sequence: u64,
    /// The log position of the last event appended (wait for it to read your writes).
    pub last_position: LogPosition,
}

/// A command that was applied, as the store recorded it, with its events: everything a
/// repeated command is answered with, so answering it takes no further call.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandRecord {
    /// The command's id.
    pub command_id: CommandId,
    /// The stream its events went to.
    pub stream: StreamId,
    /// The sequence number of its first event.
    pub first_sequence: u64,
    /// The sequence number of its last event.
    pub last_sequence: u64,
    /// The log position of its last event.
    pub last_position: LogPosition,
    /// The events it stored, `first_sequence` to `last_sequence`, in order.
    pub events: Vec<AggregateEvent>,
}

/// The result of [`EventStore::append`].
#[derive(Debug, Clone, PartialEq)]
pub enum AppendOutcome {
    /// The events were stored.
    Appended(Appended),
    /// The command id was recorded before: nothing was stored, and this is what the
    /// first time stored, its events included.
    AlreadyApplied(CommandRecord),
}

/// Which tenants a global-log read covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TenantScope {
    /// Only this tenant's events.
    Tenant(TenantId),
    /// Every tenant's events: for projections that span tenants. Say so explicitly.
    AllTenants,
}

impl TenantScope {
    /// Whether an event of `tenant` is in scope.
    pub fn includes(&self, tenant: &TenantId) -> bool {
        match self {
            TenantScope::Tenant(t) => t == tenant,
            TenantScope::AllTenants => true,
        }
    }
}

/// A request for the next batch of the global log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadAll {
    /// Which tenants to read.
    pub scope: TenantScope,
    /// Read the events strictly after this position.
    pub after: LogPosition,
    /// At most this many events, 1 to [`MAX_READ_BATCH`].
    pub limit: usize,
    /// Only events of these kinds (aggregate type and event type); `None` reads every
    /// event.
    pub events: Option<Vec<EventKind>>,
}

impl ReadAll {
    /// Reads `scope` from the start, 1,000 events a batch, every type.
    pub fn new(scope: TenantScope) -> Self {
        Self {
            scope,
            after: LogPosition::START,
            limit: 1_000,
            events: None,
        }
    }

    /// Starts after `position`.
    pub fn after(mut self, position: LogPosition) -> Self {
        self.after = position;
        self
    }

    /// Reads at most `limit` events.
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// Reads only events of these kinds: [`EventKind::of`] one event of one aggregate,
    /// [`EventKind::all_of`] every event of an aggregate.
    pub fn events<I>(mut self, kinds: I) -> Self
    where
        I: IntoIterator<Item = EventKind>,
    {
        self.events = Some(kinds.into_iter().collect());
        self
    }
}

/// One batch of the global log.
#[derive(Debug, Clone, PartialEq)]
pub struct LogBatch {
    /// The events, in log order.
    pub events: Vec<StoredEvent>,
    /// Where to resume: the position of the last event returned. When none was, at least
    /// the request's `after`; a store may move it further, past events the filter left
    /// out, so a reader waiting for a position it cannot see still gets there.
    pub next: LogPosition,
}

/// A snapshot of an aggregate's state at one version of its stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// The stream version the state includes.
    pub version: u64,
    /// The aggregate's [`STATE_VERSION`](crate::Aggregate::STATE_VERSION) when taken.
    pub state_version: u64,
    /// The state.
    pub state: Value,
    /// When it was taken.
    pub taken_at: DateTime<Utc>,
}

/// A stream as the command path needs it: the newest snapshot of the wanted shape, and
/// the events after it.
#[derive(Debug, Clone, PartialEq)]
pub struct AggregateLoad {
    /// The newest snapshot whose state version was asked for, if there is one.
    pub snapshot: Option<Snapshot>,
    /// The events after the snapshot, or every event of the stream without one, in order.
    pub events: Vec<AggregateEvent>,
}

/// An event store: streams of events with optimistic concurrency, a global log, snapshots
/// and a record of applied commands. Every call is scoped to one tenant.
///
/// Appends are atomic: all events of a call are stored, or none.
#[async_trait]
pub trait EventStore: Send + Sync {
    /// Appends `events` to `stream` if its version matches `expected`.
    ///
    /// With a `command_id`, the command is recorded with the events in the same atomic
    /// step; if that id was recorded before for the tenant (for this stream or another),
    /// nothing is stored and the earlier record, with its events, comes back as
    /// [`AppendOutcome::AlreadyApplied`]. The id is looked up under the stream's lock,
    /// before the version is compared: an append that reports a conflict had no record
    /// of its id on this stream.
    ///
    /// Errors: [`StoreError::Validation`] for an empty or malformed list,
    /// [`StoreError::Conflict`] when the version does not match,
    /// [`StoreError::DuplicateEventId`] when an event id is taken.
    async fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
        command_id: Option<CommandId>,
    ) -> Result<AppendOutcome, StoreError>;

    /// Loads the events of `stream` with a sequence number of `from_sequence` or more, in
    /// order. A stream that does not exist has no events.
    async fn load(
        &self,
        stream: &StreamId,
        from_sequence: u64,
    ) -> Result<Vec<StoredEvent>, StoreError>;

    /// Loads the events of `stream` from `first` to `last`, both included.
    async fn load_range(
        &self,
        stream: &StreamId,
        first: u64,
        last: u64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let mut events = self.load(stream, first).await?;
        events.retain(|e| e.sequence <= last);
        Ok(events)
    }

    /// Loads a stream for the command path: with `state_version`, the newest snapshot
    /// taken at that state version (a snapshot of another shape is passed over) and the
    /// events after it; without, or when there is no such snapshot, every event.
    ///
    /// The default makes two calls; a store that can should answer in one round trip.
    async fn load_aggregate(
        &self,
        stream: &StreamId,
        state_version: Option<u64>,
    ) -> Result<AggregateLoad, StoreError> {
        let snapshot = match state_version {
            Some(wanted) => self
                .load_snapshot(stream)
                .await?
                .filter(|s| s.state_version == wanted),
            None => None,
        };
        let from = snapshot.as_ref().map_or(1, |s| s.version + 1);
        let events = self.load(stream, from).await?;
        Ok(AggregateLoad {
            events: events.into_iter().map(AggregateEvent::from).collect(),
            snapshot,
        })
    }

    /// Reads the next batch of the global log.
    async fn read_all(&self, request: &ReadAll) -> Result<LogBatch, StoreError>;

    /// Stores a snapshot of `stream`. The store keeps the newest per stream: an older one
    /// than it has is ignored. A snapshot past the stream's version is rejected.
    async fn save_snapshot(&self, stream: &StreamId, snapshot: Snapshot) -> Result<(), StoreError>;

    /// The newest snapshot of `stream`, if any.
    async fn load_snapshot(&self, stream: &StreamId) -> Result<Option<Snapshot>, StoreError>;

    /// The record of command `command_id` of `tenant`, with the events it stored, if it
    /// was applied: one call answers a repeated command.
    async fn find_command(
        &self,
        tenant: &TenantId,
        command_id: CommandId,
    ) -> Result<Option<CommandRecord>, StoreError>;
}

/// A shared store is a store: `Arc<InMemoryEventStore>` or `Arc<dyn EventStore>` can be
/// passed wherever an [`EventStore`] is expected.
#[async_trait]
impl<T: EventStore + ?Sized> EventStore for Arc<T> {
    async fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
        command_id: Option<CommandId>,
    ) -> Result<AppendOutcome, StoreError> {
        (**self).append(stream, expected, events, command_id).await
    }

    async fn load(
        &self,
        stream: &StreamId,
        from_sequence: u64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        (**self).load(stream, from_sequence).await
    }

    async fn load_range(
        &self,
        stream: &StreamId,
        first: u64,
        last: u64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        (**self).load_range(stream, first, last).await
    }

    async fn load_aggregate(
        &self,
        stream: &StreamId,
        state_version: Option<u64>,
    ) -> Result<AggregateLoad, StoreError> {
        (**self).load_aggregate(stream, state_version).await
    }

    async fn read_all(&self, request: &ReadAll) -> Result<LogBatch, StoreError> {
        (**self).read_all(request).await
    }

    async fn save_snapshot(&self, stream: &StreamId, snapshot: Snapshot) -> Result<(), StoreError> {
        (**self).save_snapshot(stream, snapshot).await
    }

    async fn load_snapshot(&self, stream: &StreamId) -> Result<Option<Snapshot>, StoreError> {
        (**self).load_snapshot(stream).await
    }

    async fn find_command(
        &self,
        tenant: &TenantId,
        command_id: CommandId,
    ) -> Result<Option<CommandRecord>, StoreError> {
        (**self).find_command(tenant, command_id).await
    }
}
