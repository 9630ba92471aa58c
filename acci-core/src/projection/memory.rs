//! The in-memory twin of the projection runner: the same batch semantics without a
//! database, for tests and examples.

use std::collections::BTreeMap;
use std::sync::{PoisonError, RwLock};

use crate::projection::{Projection, ProjectionError};
use crate::store::{EventStore, LogPosition, ReadAll, TenantScope};

/// How far a projection has got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectionStatus {
    /// The projection's name.
    pub name: &'static str,
    /// The log position of the last event it applied.
    pub position: LogPosition,
    /// Events applied since it started.
    pub events_applied: u64,
}

/// A read model kept in memory, fed from any [`EventStore`].
///
/// [`catch_up`](InMemoryProjection::catch_up) reads the log after its checkpoint in
/// batches, only the projection's event types, and applies each batch as a unit: the
/// rows and the checkpoint change together or not at all, so an error leaves the read
/// model at the last complete batch and a later call resumes there.
#[derive(Debug)]
pub struct InMemoryProjection<P: Projection> {
    state: RwLock<State<P>>,
    batch_size: usize,
    /// One catch-up at a time, so no batch is applied twice.
    running: tokio::sync::Mutex<()>,
}

#[derive(Debug)]
struct State<P: Projection> {
    rows: BTreeMap<P::Key, P>,
    position: LogPosition,
    events_applied: u64,
}

impl<P: Projection> Default for InMemoryProjection<P> {
    fn default() -> Self {
        Self::new()
    }
}

impl<P: Projection> InMemoryProjection<P> {
    /// An empty read model at the start of the log, reading 500 events a batch.
    pub fn new() -> Self {
        let state = State {
            rows: BTreeMap::new(),
            position: LogPosition::START,
            events_applied: 0,
        };
        Self {
            state: RwLock::new(state),
            batch_size: 500,
            running: tokio::sync::Mutex::new(()),
        }
    }

    /// Reads `batch_size` events a batch (1 to [`MAX_READ_BATCH`](crate::MAX_READ_BATCH)).
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }

    /// Applies every event after the checkpoint; returns how many it applied.
    pub async fn catch_up<S: EventStore + ?Sized>(
        &self,
        store: &S,
    ) -> Result<u64, ProjectionError> {
        let _running = self.running.lock().await;
        let mut applied = 0;
        loop {
            let after = self.read().position;
            let request = ReadAll::new(TenantScope::AllTenants)
                .after(after)
                .limit(self.batch_size)
                .event_types(P::EVENT_TYPES.iter().copied());
            let batch = store
                .read_all(&request)
                .await
                .map_err(|e| ProjectionError::Storage(e.to_string()))?;
            if batch.events.is_empty() {
                return Ok(applied);
            }
            // Work on copies of the touched rows; commit them with the checkpoint.
            let mut touched: BTreeMap<P::Key, Option<P>> = BTreeMap::new();
            let count = batch.events.len() as u64;
            for stored in batch.events {
                let event = P::decode(stored)?;
                let key = P::event_key(&event)?;
                let row = touched
                    .entry(key.clone())
                    .or_insert_with(|| self.read().rows.get(&key).cloned());
                P::project_event(row, &event);
            }
            let mut state = self.write();
            for (key, row) in touched {
                match row {
                    Some(row) => state.rows.insert(key, row),
                    None => state.rows.remove(&key),
                };
            }
            state.position = batch.next;
            state.events_applied += count;
            applied += count;
        }
    }

    /// The row with `key`.
    pub fn get(&self, key: &P::Key) -> Option<P> {
        self.read().rows.get(key).cloned()
    }

    /// Every row, in key order.
    pub fn rows(&self) -> Vec<P> {
        self.read().rows.values().cloned().collect()
    }

    /// How far it has got.
    pub fn status(&self) -> ProjectionStatus {
        let state = self.read();
        ProjectionStatus {
            name: P::NAME,
            position: state.position,
            events_applied: state.events_applied,
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State<P>> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State<P>> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }
}
