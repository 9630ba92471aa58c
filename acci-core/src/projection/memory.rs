//! The in-memory twin of the projection runner: the same batch semantics without a
//! database, for tests and examples.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{PoisonError, RwLock};

use crate::authorization::{Caller, QueryGuard, QueryKind};
use crate::error::StoreError;
use crate::ids::EventId;
use crate::observability::observe_query;
use crate::projection::{Projection, ProjectionError};
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
            let mut touched: BTreeMap<P::Key, Option<P>> = BTreeMap::new();
            let mut parked = Vec::new();
            let mut count = 0;
            for stored in batch.events {
                let (event_id, position) = (stored.event_id, stored.position);
                let event_type = stored.event_type.clone();
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
                let row = touched
                    .entry(key.clone())
                    .or_insert_with(|| self.read().rows.get(&key).cloned());
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
            events_parked: state.parked.len() as u64,
        }
    }

    /// The events it parked, in log order.
    pub fn dead_letters(&self) -> Vec<ParkedEvent> {
        self.read().parked.clone()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State<P>> {
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

/// In-memory read models behind the [`ReadModels`](crate::query::ReadModels) trait, so
/// query handlers and the finders `#[projection]` generates run in tests without a
/// database. Register each [`InMemoryProjection`] once; queries for a projection that was
/// not registered answer [`QueryError::Projection`](crate::query::QueryError::Projection),
/// as a missing table does on PostgreSQL.
///
/// Like `PgReadModels`, it asks a [`QueryAuthorizer`](crate::authorization::QueryAuthorizer)
/// about each query first, if one is set ([`with_authorizer`](Self::with_authorizer)),
/// on behalf of the caller it is bound to ([`for_caller`](Self::for_caller)). Clones
/// share the registered projections.
#[derive(Debug, Default, Clone)]
pub struct InMemoryReadModels {
    models: std::sync::Arc<
        RwLock<
            std::collections::HashMap<
                std::any::TypeId,
                std::sync::Arc<dyn std::any::Any + Send + Sync>,
            >,
        >,
    >,
    guard: QueryGuard,
}

impl InMemoryReadModels {
    /// No read models yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks `authorizer` about every query before it reads; a denial is
    /// [`QueryError::Unauthorized`](crate::query::QueryError::Unauthorized).
    pub fn with_authorizer(
        mut self,
        authorizer: std::sync::Arc<dyn crate::authorization::QueryAuthorizer>,
    ) -> Self {
        self.guard = self.guard.with_authorizer(authorizer);
        self
    }

    /// Hands the audit records of denied queries to `audit` instead of `tracing`.
    pub fn with_audit(
        mut self,
        audit: std::sync::Arc<dyn crate::authorization::AuditSink>,
    ) -> Self {
        self.guard = self.guard.with_audit(audit);
        self
    }

    /// The same read models (a clone sharing the projections), asking on behalf of
    /// `caller`.
    pub fn for_caller(&self, caller: Caller) -> Self {
        Self {
            models: std::sync::Arc::clone(&self.models),
            guard: self.guard.for_caller(caller),
        }
    }

    /// Makes `projection` answer the queries for `P`.
    pub fn register<P: Projection>(&self, projection: std::sync::Arc<InMemoryProjection<P>>) {
        self.models
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(std::any::TypeId::of::<P>(), projection);
    }

    fn model<P: Projection>(
        &self,
    ) -> Result<std::sync::Arc<InMemoryProjection<P>>, crate::query::QueryError> {
        let found = self
            .models
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&std::any::TypeId::of::<P>())
            .cloned();
        found
            .and_then(|model| model.downcast::<InMemoryProjection<P>>().ok())
            .ok_or_else(|| crate::query::QueryError::Projection {
                projection: P::NAME.to_owned(),
                reason: "it is not registered with these read models".to_owned(),
            })
    }
}

#[async_trait::async_trait]
impl crate::query::ReadModels for InMemoryReadModels {
    async fn get<P: Projection>(
        &self,
        key: &P::Key,
    ) -> Result<Option<P>, crate::query::QueryError> {
        let tenant = self.guard.caller().tenant.as_ref();
        observe_query(P::NAME, "get", tenant, async {
            self.guard.check::<P>(QueryKind::Get).await?;
            check_key::<P>(key)?;
            Ok(self.model::<P>()?.get(key))
        })
        .await
    }

    async fn page<P: Projection>(
        &self,
        after: Option<&P::Key>,
        limit: usize,
    ) -> Result<Vec<P>, crate::query::QueryError> {
        let tenant = self.guard.caller().tenant.as_ref();
        observe_query(P::NAME, "page", tenant, async {
            self.guard.check::<P>(QueryKind::Page).await?;
            crate::query::validate_limit(limit)?;
            if let Some(after) = after {
                check_key::<P>(after)?;
            }
            let model = self.model::<P>()?;
            let state = model.read();
            let rows = match after {
                Some(after) => state
                    .rows
                    .range((
                        std::ops::Bound::Excluded(after.clone()),
                        std::ops::Bound::Unbounded,
                    ))
                    .map(|(_, row)| row.clone())
                    .take(limit)
                    .collect(),
                None => state.rows.values().take(limit).cloned().collect(),
            };
            Ok(rows)
        })
        .await
    }

    async fn find_by<P: Projection>(
        &self,
        column: &str,
        value: &serde_json::Value,
        limit: usize,
    ) -> Result<Vec<P>, crate::query::QueryError> {
        let tenant = self.guard.caller().tenant.as_ref();
        observe_query(P::NAME, "find_by", tenant, async {
            let query = QueryKind::FindBy {
                column: column.to_owned(),
            };
            self.guard.check::<P>(query).await?;
            crate::query::validate_limit(limit)?;
            if !P::TABLE.is_indexed(column) {
                return Err(crate::error::ValidationError::new(
                    format!("column `{column}` of `{}`", P::NAME),
                    "has no index to find by",
                )
                .into());
            }
            crate::store::check_json(&format!("value to find `{column}` by"), value)?;
            let model = self.model::<P>()?;
            if value.is_null() {
                // As in SQL, where `column = NULL` matches nothing.
                return Ok(Vec::new());
            }
            let state = model.read();
            let mut found = Vec::new();
            for row in state.rows.values() {
                // Rows serialize with their column names, as they are stored on PostgreSQL.
                let json =
                    serde_json::to_value(row).map_err(|e| crate::query::QueryError::ReadModel {
                        message: format!("a row of `{}` did not serialize: {e}", P::NAME),
                        retryable: false,
                    })?;
                if json.get(column) == Some(value) {
                    found.push(row.clone());
                    if found.len() == limit {
                        break;
                    }
                }
            }
            Ok(found)
        })
        .await
    }
}

/// Refuses a key that PostgreSQL could not hold (a NUL in a string), as its read models do.
fn check_key<P: Projection>(key: &P::Key) -> Result<(), crate::query::QueryError> {
    if let Ok(key) = serde_json::to_value(key) {
        crate::store::check_json(&format!("key of `{}`", P::NAME), &key)?;
    }
    Ok(())
}
