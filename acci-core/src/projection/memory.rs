//! The in-memory twin of the projection runner: the same batch semantics without a
//! database, for tests and examples.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{PoisonError, RwLock};

use crate::error::StoreError;
use crate::ids::{EventId, TenantId};
use crate::projection::{Projection, ProjectionError, row_tenant};
use crate::store::{EventStore, LogPosition, ReadAll, TenantScope};

/// How far a projection has got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectionStatus {
    /// The projection's name.
    pub name: &'static str,
    /// The log position of the last event it applied or parked.
    pub position: LogPosition,
    /// Events applied since it started.
    pub events_applied: u64,
    /// Events parked since it started: see [`InMemoryProjection::dead_letters`].
    pub events_parked: u64,
}

/// An event an [`InMemoryProjection`] parked: it did not decode, had no row key, made
/// `project` panic, or the store could not hand it out ([`StoreError::Unreadable`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParkedEvent {
    /// The event.
    pub event_id: EventId,
    /// Its stored type; `None` for an event the store could not hand out.
    pub event_type: Option<String>,
    /// Its log position.
    pub position: LogPosition,
    /// Why it did not project.
    pub error: String,
}

/// A read model kept in memory, fed from any [`EventStore`].
///
/// [`catch_up`](InMemoryProjection::catch_up) reads the log after its checkpoint in
/// batches, only the projection's event types, and applies each batch as a unit: the
/// rows and the checkpoint change together or not at all, so an error leaves the read
/// model at the last complete batch and a later call resumes there.
///
/// An event that fails to project (it does not decode, has no row key, makes `project`
/// panic, or the store cannot hand it out at all) is parked at once, as the PostgreSQL
/// runner does under `FailurePolicy::Park`: kept in
/// [`dead_letters`](InMemoryProjection::dead_letters) with its error, while every other
/// event goes on. Nothing in memory fails twice differently, so there is no retry.
///
/// As on PostgreSQL, a tenant-scoped read model keeps each row under the tenant of the
/// events that made it: two tenants' aggregates with the same id are two rows, and every
/// read names its tenant (`None` for a global read model).
#[derive(Debug)]
pub struct InMemoryProjection<P: Projection> {
    state: RwLock<State<P>>,
    batch_size: usize,
    /// One catch-up at a time, so no batch is applied twice.
    running: tokio::sync::Mutex<()>,
}

/// A row's place: its tenant (`None` in a global read model) and its key.
pub(super) type RowId<P> = (Option<TenantId>, <P as Projection>::Key);

#[derive(Debug)]
pub(super) struct State<P: Projection> {
    pub(super) rows: BTreeMap<RowId<P>, P>,
    position: LogPosition,
    events_applied: u64,
    parked: Vec<ParkedEvent>,
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
            parked: Vec::new(),
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
                .events(P::EVENTS.iter().cloned());
            let batch = match store.read_all(&request).await {
                Ok(batch) => batch,
                // The store cannot hand the next event out: park it, read on after it.
                Err(StoreError::Unreadable {
                    event_id,
                    position,
                    reason,
                }) => {
                    let mut state = self.write();
                    state.parked.push(ParkedEvent {
                        event_id,
                        event_type: None,
                        position,
                        error: format!("the event cannot be read: {reason}"),
                    });
                    state.position = position;
                    continue;
                }
                Err(error) => return Err(ProjectionError::Storage(error.to_string())),
            };
            if batch.events.is_empty() {
                return Ok(applied);
            }
            // Work on copies of the touched rows; commit them with the checkpoint.
            let mut touched: BTreeMap<RowId<P>, Option<P>> = BTreeMap::new();
            let mut parked = Vec::new();
            let mut count = 0;
            for stored in batch.events {
                let (event_id, position) = (stored.event_id, stored.position);
                let event_type = stored.event_type.clone();
                let tenant = row_tenant::<P>(&stored.stream.tenant);
                let mut park = |error: String| {
                    parked.push(ParkedEvent {
                        event_id,
                        event_type: Some(event_type.clone()),
                        position,
                        error,
                    })
                };
                let event = match P::decode(stored) {
                    Ok(event) => event,
                    Err(error) => {
                        park(error.to_string());
                        continue;
                    }
                };
                let key = match P::event_key(&event) {
                    Ok(key) => key,
                    Err(error) => {
                        park(error.to_string());
                        continue;
                    }
                };
                let id = (tenant, key);
                let row = touched
                    .entry(id.clone())
                    .or_insert_with(|| self.read().rows.get(&id).cloned());
                // `project` is user code: a panic parks this event; the row stays as it was.
                let mut projected = row.clone();
                match catch_unwind(AssertUnwindSafe(|| {
                    P::project_event(&mut projected, &event)
                })) {
                    Ok(()) => {
                        *row = projected;
                        count += 1;
                    }
                    Err(panic) => park(format!("the projection panicked: {}", panic_text(&panic))),
                }
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
            state.parked.append(&mut parked);
            applied += count;
        }
    }

    /// The row of `tenant` with `key` (`tenant` is `None` in a global read model).
    pub fn get(&self, tenant: Option<&TenantId>, key: &P::Key) -> Option<P> {
        self.read()
            .rows
            .get(&(tenant.cloned(), key.clone()))
            .cloned()
    }

    /// Every row of `tenant`, in key order (`tenant` is `None` in a global read model).
    pub fn rows(&self, tenant: Option<&TenantId>) -> Vec<P> {
        let tenant = tenant.cloned();
        self.read()
            .rows
            .iter()
            .filter(|((owner, _), _)| *owner == tenant)
            .map(|(_, row)| row.clone())
            .collect()
    }

    /// How far it has got.
    pub fn status(&self) -> ProjectionStatus {
        let state = self.read();
        ProjectionStatus {
            name: P::NAME,
            position: state.position,
            events_applied: state.events_applied,
            events_parked: state.parked.len() as u64,
        }
    }

    /// The events it parked, in log order.
    pub fn dead_letters(&self) -> Vec<ParkedEvent> {
        self.read().parked.clone()
    }

    pub(super) fn read(&self) -> std::sync::RwLockReadGuard<'_, State<P>> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State<P>> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A panic's message, if it has one.
fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-text panic".to_owned())
}
