//! An in-memory [`EventStore`] with the semantics of the PostgreSQL store.

use std::collections::{HashMap, HashSet};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::{ConcurrencyConflict, StoreError, ValidationError};
use crate::event::{AggregateEvent, NewEvent, StoredEvent};
use crate::ids::{CommandId, EventId, StreamId, TenantId};
use crate::store::{
    AppendOutcome, Appended, CommandRecord, EventStore, ExpectedVersion, LogBatch, LogPosition,
    ReadAll, Snapshot, canonical_json, stored_time, validate_expected, validate_new_events,
    validate_read, validate_snapshot, validate_stream,
};

/// A thread-safe event store in memory: the default for examples and tests.
///
/// It keeps the contract of every store (atomic appends, optimistic concurrency, the
/// global log, newest-snapshot-wins, command ids recorded with their events, tenant
/// scoping, the same validation), so code tested against it behaves the same on
/// PostgreSQL. Everything is lost when it is dropped.
///
/// Each append takes a write lock for the time it needs to check and push its events;
/// loads and log reads share a read lock. No lock is held across an `.await`.
#[derive(Debug, Default)]
pub struct InMemoryEventStore {
    inner: RwLock<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// The global log: the event at position `p` is at index `p - 1`.
    log: Vec<StoredEvent>,
    /// Each stream's events, as indexes into `log`, in sequence order.
    streams: HashMap<StreamId, Vec<usize>>,
    event_ids: HashSet<EventId>,
    snapshots: HashMap<StreamId, Snapshot>,
    commands: HashMap<(TenantId, CommandId), Applied>,
    /// Appends committed so far: the `commit` part of every log position.
    commits: u64,
}

impl InMemoryEventStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many events the store holds, across all tenants.
    pub fn len(&self) -> usize {
        self.read().log.len()
    }

    /// Whether the store holds no event.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    // A panic while the lock is held cannot leave a half-written append behind: every
    // check runs before the first mutation. So a poisoned lock is safe to keep using.
    fn read(&self) -> RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A recorded command: where its events went. Its events are read from the log when
/// it is asked for.
#[derive(Debug)]
struct Applied {
    stream: StreamId,
    appended: Appended,
}

impl Inner {
    fn version(&self, stream: &StreamId) -> u64 {
        self.streams.get(stream).map_or(0, |s| s.len() as u64)
    }

    /// The events of `stream` from `first` to `last`, both included.
    fn range(&self, stream: &StreamId, first: u64, last: u64) -> &[usize] {
        let Some(indexes) = self.streams.get(stream) else {
            return &[];
        };
        let start = first.saturating_sub(1).min(indexes.len() as u64) as usize;
        let end = last.min(indexes.len() as u64) as usize;
        &indexes[start..end.max(start)]
    }

    /// The record of `command_id` of `tenant`, with its events, if it was applied.
    fn command(&self, tenant: &TenantId, command_id: CommandId) -> Option<CommandRecord> {
        let applied = self.commands.get(&(tenant.clone(), command_id))?;
        let Appended {
            first_sequence,
            last_sequence,
            last_position,
        } = applied.appended;
        let events = self
            .range(&applied.stream, first_sequence, last_sequence)
            .iter()
            .map(|&i| AggregateEvent::from(self.log[i].clone()))
            .collect();
        Some(CommandRecord {
            command_id,
            stream: applied.stream.clone(),
            first_sequence,
            last_sequence,
            last_position,
            events,
        })
    }
}

#[async_trait]
impl EventStore for InMemoryEventStore {
    async fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
        command_id: Option<CommandId>,
    ) -> Result<AppendOutcome, StoreError> {
        validate_stream(stream)?;
        validate_new_events(&events)?;
        validate_expected(expected)?;
        // What PostgreSQL would give back: this store returns the same.
        let events: Vec<NewEvent> = events.into_iter().map(canonical_event).collect();
        let mut inner = self.write();

        if let Some(record) = command_id.and_then(|id| inner.command(&stream.tenant, id)) {
            return Ok(AppendOutcome::AlreadyApplied(record));
        }
        let actual = inner.version(stream);
        if !expected.matches(actual) {
            return Err(ConcurrencyConflict {
                stream: stream.clone(),
                expected,
                actual,
            }
            .into());
        }
        if let Some(taken) = events
            .iter()
            .find(|e| inner.event_ids.contains(&e.event_id))
        {
            return Err(StoreError::DuplicateEventId(taken.event_id));
        }

        // Every check passed: from here on nothing fails, so the append is all or nothing.
        inner.commits += 1;
        let commit = inner.commits;
        let recorded_at = to_microseconds(Utc::now());
        let first_index = inner.log.len();
        let count = events.len();
        for (offset, event) in events.into_iter().enumerate() {
            inner.event_ids.insert(event.event_id);
            inner.log.push(StoredEvent {
                event_id: event.event_id,
                stream: stream.clone(),
                sequence: actual + 1 + offset as u64,
                position: LogPosition {
                    commit,
                    position: (first_index + offset + 1) as u64,
                },
                event_type: event.event_type.into_owned(),
                schema_version: event.schema_version,
                metadata: event.metadata,
                recorded_at,
                data: event.payload,
            });
        }
        inner
            .streams
            .entry(stream.clone())
            .or_default()
            .extend(first_index..first_index + count);

        let appended = Appended {
            first_sequence: actual + 1,
            last_sequence: actual + count as u64,
            last_position: LogPosition {
                commit,
                position: (first_index + count) as u64,
            },
        };
        if let Some(command_id) = command_id {
            inner.commands.insert(
                (stream.tenant.clone(), command_id),
                Applied {
                    stream: stream.clone(),
                    appended: appended.clone(),
                },
            );
        }
        Ok(AppendOutcome::Appended(appended))
    }

    async fn load(
        &self,
        stream: &StreamId,
        from_sequence: u64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        validate_stream(stream)?;
        let inner = self.read();
        let Some(indexes) = inner.streams.get(stream) else {
            return Ok(Vec::new());
        };
        let skip = from_sequence.saturating_sub(1).min(indexes.len() as u64) as usize;
        Ok(indexes[skip..]
            .iter()
            .map(|&i| inner.log[i].clone())
            .collect())
    }

    async fn load_range(
        &self,
        stream: &StreamId,
        first: u64,
        last: u64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        validate_stream(stream)?;
        let inner = self.read();
        Ok(inner
            .range(stream, first, last)
            .iter()
            .map(|&i| inner.log[i].clone())
            .collect())
    }

    async fn read_all(&self, request: &ReadAll) -> Result<LogBatch, StoreError> {
        validate_read(request)?;
        let inner = self.read();
        // Positions are dense here and commits grow with them, so the first event after
        // `request.after` is found by its position alone.
        let start = inner.log.partition_point(|e| e.position <= request.after);
        let events: Vec<StoredEvent> = inner.log[start..]
            .iter()
            .filter(|e| request.scope.includes(&e.stream.tenant))
            .filter(|e| {
                request.events.as_ref().is_none_or(|kinds| {
                    kinds
                        .iter()
                        .any(|kind| kind.matches(&e.stream.aggregate_type, &e.event_type))
                })
            })
            .take(request.limit)
            .cloned()
            .collect();
        let next = events.last().map_or(request.after, |e| e.position);
        Ok(LogBatch { events, next })
    }

    async fn save_snapshot(&self, stream: &StreamId, snapshot: Snapshot) -> Result<(), StoreError> {
        validate_stream(stream)?;
        validate_snapshot(&snapshot)?;
        let mut snapshot = snapshot;
        canonical_json(&mut snapshot.state);
        snapshot.taken_at = stored_time("snapshot time", snapshot.taken_at)?;
        let mut inner = self.write();
        let version = inner.version(stream);
        if snapshot.version == 0 || snapshot.version > version {
            return Err(ValidationError::new(
                "snapshot version",
                format!(
                    "is {}, but stream {stream} is at version {version}; a snapshot must cover 1 to {version} events",
                    snapshot.version
                ),
            )
            .into());
        }
        match inner.snapshots.get(stream) {
            Some(existing) if existing.version > snapshot.version => {}
            _ => {
                inner.snapshots.insert(stream.clone(), snapshot);
            }
        }
        Ok(())
    }

    async fn load_snapshot(&self, stream: &StreamId) -> Result<Option<Snapshot>, StoreError> {
        validate_stream(stream)?;
        Ok(self.read().snapshots.get(stream).cloned())
    }

    async fn find_command(
        &self,
        tenant: &TenantId,
        command_id: CommandId,
    ) -> Result<Option<CommandRecord>, StoreError> {
        Ok(self.read().command(tenant, command_id))
    }
}

/// An event as PostgreSQL would return it: see [`canonical_json`].
fn canonical_event(mut event: NewEvent) -> NewEvent {
    canonical_json(&mut event.payload);
    event.metadata.entries.values_mut().for_each(canonical_json);
    event
}

/// `time` cut to whole microseconds, as every store keeps times.
fn to_microseconds(time: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(time.timestamp_micros()).unwrap_or(time)
}
