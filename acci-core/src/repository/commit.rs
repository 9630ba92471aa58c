//! The commit: the decided events appended, applied, snapshotted and cached.

use std::time::Instant;

use chrono::Utc;
use tracing::Instrument;

use crate::aggregate::Aggregate;
use crate::error::{CommandError, ConcurrencyConflict, StoreError};
use crate::event::{EventEnum, NewEvent};
use crate::ids::{CommandId, StreamId};
use crate::metadata::Metadata;
use crate::observability::record;
use crate::store::{AppendOutcome, Appended, CommandRecord, EventStore, ExpectedVersion, Snapshot};

use super::{Loaded, Repository};

/// What an append of decided events came to.
pub(super) enum Committed<A: Aggregate> {
    /// Stored, and applied to the state.
    Stored {
        /// The events, as decided.
        events: Vec<A::Event>,
        /// Where the store put them.
        appended: Appended,
        /// The version of the snapshot taken after them, if one was due.
        snapshot_taken: Option<u64>,
    },
    /// The store had recorded the command id before: nothing was stored.
    Recorded(CommandRecord),
    /// The stream was not at the version decided on: nothing was stored.
    Conflict(ConcurrencyConflict),
}

impl<A: Aggregate, S: EventStore + ?Sized> Repository<A, S> {
    /// Appends `events`, decided on `loaded`, expecting `loaded.version`; once stored,
    /// applies them to `loaded`, takes a snapshot if one is due, and caches the result.
    /// A conflict or a recorded command id is an answer, not an error: the caller decides
    /// what follows.
    pub(super) async fn commit<E>(
        &self,
        stream: &StreamId,
        loaded: &mut Loaded<A>,
        events: Vec<A::Event>,
        metadata: &Metadata,
        command_id: Option<CommandId>,
    ) -> Result<Committed<A>, CommandError<E>> {
        let new_events = serialize::<A, E>(&events, metadata)?;
        let expected = ExpectedVersion::Exactly(loaded.version);
        let span = record::append_span(stream, events.len(), loaded.version);
        let started = Instant::now();
        let result = self
            .store
            .append(stream, expected, new_events, command_id)
            .instrument(span.clone())
            .await;
        let stored = matches!(result, Ok(AppendOutcome::Appended(_)));
        record::append_finished(
            A::TYPE,
            &stream.tenant,
            events.len(),
            stored,
            started.elapsed(),
        );
        let appended = match result {
            Ok(AppendOutcome::Appended(appended)) => {
                span.record("outcome", "appended");
                span.record("version", appended.last_sequence);
                appended
            }
            Ok(AppendOutcome::AlreadyApplied(record)) => {
                span.record("outcome", "duplicate");
                return Ok(Committed::Recorded(record));
            }
            Err(StoreError::Conflict(conflict)) => {
                span.record("outcome", "conflict");
                record::conflicted(A::TYPE);
                return Ok(Committed::Conflict(conflict));
            }
            Err(other) => {
                span.record("outcome", "error");
                return Err(other.into());
            }
        };
        let before = loaded.version;
        for event in &events {
            loaded.state.apply_event(event);
        }
        loaded.version = appended.last_sequence;
        loaded.events_applied += events.len();
        let snapshot_taken = self.maybe_snapshot(stream, loaded, before).await;
        if let Some(version) = snapshot_taken {
            // The cached state now starts from that snapshot: count anew.
            loaded.snapshot_version = Some(version);
            loaded.events_applied = 0;
        }
        self.cache_put(stream, loaded);
        Ok(Committed::Stored {
            events,
            appended,
            snapshot_taken,
        })
    }

    /// Keeps `loaded` as the newest known state of `stream`, if caching is on.
    pub(super) fn cache_put(&self, stream: &StreamId, loaded: &Loaded<A>) {
        if let Some(cache) = &self.cache {
            cache.put(stream, loaded);
        }
    }

    /// Stores a snapshot when the append crossed a multiple of `snapshot_every`. A failure
    /// is logged, not returned: the events are stored, and the next load replays them.
    async fn maybe_snapshot(
        &self,
        stream: &StreamId,
        loaded: &Loaded<A>,
        before: u64,
    ) -> Option<u64> {
        let (every, after) = (A::SNAPSHOT_EVERY, loaded.version);
        // At every multiple of `snapshot_every`, and also whenever this load had to apply
        // that many events (no usable snapshot: the state changed shape, or one failed to
        // decode), so a long stream is not replayed in full until the next multiple.
        if every == 0 || (before / every == after / every && (loaded.events_applied as u64) < every)
        {
            return None;
        }
        let state = match loaded.state.to_snapshot() {
            Ok(state) => state,
            Err(error) => {
                tracing::warn!(%stream, %error, "snapshot state did not serialize; no snapshot taken");
                return None;
            }
        };
        let snapshot = Snapshot {
            version: after,
            state_version: A::STATE_VERSION,
            state,
            taken_at: Utc::now(),
        };
        let bytes = snapshot_bytes(&snapshot.state);
        match self.store.save_snapshot(stream, snapshot).await {
            Ok(()) => {
                record::snapshot_written(A::TYPE, bytes);
                Some(after)
            }
            Err(error) => {
                tracing::warn!(%stream, %error, "saving a snapshot failed; the next load replays the events");
                None
            }
        }
    }
}

/// The events as the store takes them, each with `metadata`. An event that does not
/// serialize is [`CommandError::Serialization`], naming it and its aggregate.
fn serialize<A: Aggregate, E>(
    events: &[A::Event],
    metadata: &Metadata,
) -> Result<Vec<NewEvent>, CommandError<E>> {
    events
        .iter()
        .map(|event| {
            NewEvent::from_enum(event, metadata.clone()).map_err(|source| {
                CommandError::Serialization {
                    aggregate_type: A::TYPE,
                    event_type: event.event_type(),
                    source,
                }
            })
        })
        .collect()
}

/// The size of a snapshot's state as JSON text, counted without building the text.
fn snapshot_bytes(state: &serde_json::Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Writing to a counter fails only if the value cannot be serialized, which a stored
    // state always can.
    let _ = serde_json::to_writer(&mut count, state);
    count.0
}
