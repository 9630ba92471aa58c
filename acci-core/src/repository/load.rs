//! Loading an aggregate: the newest usable snapshot and the events after it.

use tracing::Instrument;

use crate::aggregate::Aggregate;
use crate::error::{CommandError, DecodeError, StoreError};
use crate::event::AggregateEvent;
use crate::ids::{AggregateId, StreamId, TenantId};
use crate::observability::record;
use crate::store::{AggregateLoad, EventStore};

use super::Repository;

/// An aggregate as loaded from its stream.
#[derive(Debug, Clone)]
pub struct Loaded<A> {
    /// The state after every stored event.
    pub state: A,
    /// The stream's version: the sequence number of its last event, 0 if it has none.
    pub version: u64,
    /// The version of the snapshot the load started from, if one was usable.
    pub snapshot_version: Option<u64>,
    /// How many events were applied on top of the snapshot (or of the default state).
    pub events_applied: usize,
}

/// Loading failed: the store failed, or a stored event did not decode.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A stored event could not be decoded.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The event store failed.
    #[error(transparent)]
    Persistence(#[from] StoreError),
}

impl<E> From<LoadError> for CommandError<E> {
    fn from(error: LoadError) -> Self {
        match error {
            LoadError::Decode(e) => CommandError::Decode(e),
            LoadError::Persistence(e) => e.into(),
        }
    }
}

impl<A: Aggregate, S: EventStore + ?Sized> Repository<A, S> {
    /// Loads the aggregate: the newest snapshot whose state version matches
    /// [`Aggregate::STATE_VERSION`] and that decodes, then every event after it. A
    /// snapshot that does not fit is ignored and the stream replayed from the start.
    pub async fn load(
        &self,
        tenant: &TenantId,
        aggregate_id: &AggregateId,
    ) -> Result<Loaded<A>, LoadError> {
        let stream = self
            .stream(tenant, aggregate_id)
            .map_err(StoreError::from)?;
        self.load_stream(&stream).await
    }

    /// One call to the store: the newest snapshot of the current state shape, if
    /// snapshots are on, and the events after it.
    pub(super) async fn load_stream(&self, stream: &StreamId) -> Result<Loaded<A>, LoadError> {
        let state_version = (A::SNAPSHOT_EVERY > 0).then_some(A::STATE_VERSION);
        let span = record::load_span(stream);
        let AggregateLoad {
            snapshot,
            mut events,
        } = self
            .store
            .load_aggregate(stream, state_version)
            .instrument(span.clone())
            .await?;
        span.record("events", events.len());
        if let Some(snapshot) = &snapshot {
            span.record("snapshot_version", snapshot.version);
        }
        let mut loaded = Loaded {
            state: A::default(),
            version: 0,
            snapshot_version: None,
            events_applied: 0,
        };
        if let Some(snapshot) = snapshot {
            match A::from_snapshot(snapshot.state) {
                Ok(state) => {
                    loaded = Loaded {
                        state,
                        version: snapshot.version,
                        snapshot_version: Some(snapshot.version),
                        events_applied: 0,
                    };
                }
                Err(error) => {
                    // Same shape on paper, yet it does not decode: replay from the start.
                    tracing::warn!(%stream, %error, "ignoring a snapshot that does not decode");
                    let before = self.store.load_range(stream, 1, snapshot.version).await?;
                    events = before
                        .into_iter()
                        .map(AggregateEvent::from)
                        .chain(events)
                        .collect();
                }
            }
        }
        apply_events(&mut loaded, events)?;
        span.record("version", loaded.version);
        Ok(loaded)
    }

    /// Applies the events stored after `loaded.version`: after a conflict, only what was
    /// missed is read.
    pub(super) async fn catch_up(
        &self,
        stream: &StreamId,
        loaded: &mut Loaded<A>,
    ) -> Result<(), LoadError> {
        let span = record::load_span(stream);
        let missed = self
            .store
            .load(stream, loaded.version + 1)
            .instrument(span.clone())
            .await?;
        span.record("events", missed.len());
        apply_events(loaded, missed.into_iter().map(AggregateEvent::from))?;
        span.record("version", loaded.version);
        Ok(())
    }
}

pub(super) fn apply_events<A: Aggregate>(
    loaded: &mut Loaded<A>,
    events: impl IntoIterator<Item = AggregateEvent>,
) -> Result<(), LoadError> {
    for stored in events {
        let sequence = stored.sequence;
        let event = stored.decode::<A::Event>()?;
        loaded.state.apply_event(&event);
        loaded.version = sequence;
        loaded.events_applied += 1;
    }
    Ok(())
}
