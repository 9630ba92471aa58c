//! Temporal queries: an aggregate as it was at a version of its stream or at a moment.

use chrono::{DateTime, Utc};

use crate::aggregate::Aggregate;
use crate::error::StoreError;
use crate::event::{AggregateEvent, StoredEvent};
use crate::ids::{AggregateId, StreamId, TenantId};
use crate::store::{EventStore, Snapshot};

use super::Repository;
use super::load::{LoadError, Loaded, apply_events};

/// Where in a stream's history a temporal load stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsOf {
    /// After the event with this sequence number (0: before the first event).
    Version(u64),
    /// After the last event recorded at or before this moment.
    Time(DateTime<Utc>),
}

impl<A: Aggregate, S: EventStore + ?Sized> Repository<A, S> {
    /// The aggregate as it was [`AsOf`] a version of its stream or a moment: the state
    /// after the events up to that point, nothing after. [`Loaded::version`] says where
    /// it stopped: the stream's version when it ends before the version asked for, 0 when
    /// nothing was recorded by then.
    ///
    /// It starts from the stream's snapshot when that snapshot is of the current state
    /// shape, decodes, and was taken at or below the point asked for (the store keeps the
    /// newest snapshot per stream, so a point before it replays from the first event).
    /// As of a time, the events count in stream order up to the first one recorded after
    /// it.
    pub async fn load_as_of(
        &self,
        tenant: &TenantId,
        aggregate_id: &AggregateId,
        as_of: AsOf,
    ) -> Result<Loaded<A>, LoadError> {
        let stream = self
            .stream(tenant, aggregate_id)
            .map_err(StoreError::from)?;
        let mut loaded = Loaded {
            state: A::default(),
            version: 0,
            snapshot_version: None,
            events_applied: 0,
        };
        if let Some((state, version)) = self.snapshot_below(&stream, as_of).await? {
            loaded.state = state;
            loaded.version = version;
            loaded.snapshot_version = Some(version);
        }
        let from = loaded.version + 1;
        let events = match as_of {
            AsOf::Version(last) if last < from => Vec::new(),
            AsOf::Version(last) => self.store.load_range(&stream, from, last).await?,
            AsOf::Time(moment) => {
                let mut events = self.store.load(&stream, from).await?;
                let after = events.iter().position(|e| e.recorded_at > moment);
                events.truncate(after.unwrap_or(events.len()));
                events
            }
        };
        apply_events(&mut loaded, events.into_iter().map(AggregateEvent::from))?;
        Ok(loaded)
    }

    /// The stream's snapshot, decoded, if it is of the current shape and lies at or
    /// below `as_of`; with its version.
    async fn snapshot_below(
        &self,
        stream: &StreamId,
        as_of: AsOf,
    ) -> Result<Option<(A, u64)>, StoreError> {
        let Some(Snapshot {
            version,
            state_version,
            state,
            ..
        }) = self.store.load_snapshot(stream).await?
        else {
            return Ok(None);
        };
        if state_version != A::STATE_VERSION {
            return Ok(None);
        }
        let below = match as_of {
            AsOf::Version(last) => version <= last,
            // The snapshot stands for the events up to its version: usable when the last
            // of them was recorded by then.
            AsOf::Time(moment) => {
                let last: Vec<StoredEvent> =
                    self.store.load_range(stream, version, version).await?;
                last.first().is_some_and(|e| e.recorded_at <= moment)
            }
        };
        if !below {
            return Ok(None);
        }
        match A::from_snapshot(state) {
            Ok(state) => Ok(Some((state, version))),
            Err(error) => {
                tracing::warn!(%stream, %error, "ignoring a snapshot that does not decode");
                Ok(None)
            }
        }
    }
}
