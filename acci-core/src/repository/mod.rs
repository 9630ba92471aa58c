//! The command path: load an aggregate, let it decide, append what it decided.

mod cache;
mod retry;

use std::marker::PhantomData;
use std::sync::Arc;

use chrono::Utc;

pub use cache::CacheStats;
pub use retry::RetryPolicy;

use cache::AggregateCache;

use crate::aggregate::{Aggregate, Handle};
use crate::error::{CommandError, DecodeError, StoreError, ValidationError};
use crate::event::{AggregateEvent, NewEvent};
use crate::ids::{AggregateId, CommandId, StreamId, TenantId};
use crate::metadata::Metadata;
use crate::store::{
    AggregateLoad, AppendOutcome, CommandRecord, EventStore, ExpectedVersion, LogPosition, Snapshot,
};

/// A command for one aggregate instance, with the id that makes it idempotent.
#[derive(Debug, Clone)]
pub struct Command<C> {
    /// The tenant the aggregate belongs to.
    pub tenant: TenantId,
    /// The aggregate instance the command is for.
    pub aggregate_id: AggregateId,
    /// Set it to have a repeated command applied once; see [`Repository::execute`].
    pub command_id: Option<CommandId>,
    /// Stored with every event the command records. The command id becomes the causation
    /// id unless one is set.
    pub metadata: Metadata,
    /// The command itself.
    pub payload: C,
}

impl<C> Command<C> {
    /// A command for `aggregate_id` of `tenant`, with no command id and empty metadata.
    pub fn new(tenant: TenantId, aggregate_id: AggregateId, payload: C) -> Self {
        Self {
            tenant,
            aggregate_id,
            command_id: None,
            metadata: Metadata::default(),
            payload,
        }
    }

    /// Sets the command id.
    pub fn with_id(mut self, command_id: CommandId) -> Self {
        self.command_id = Some(command_id);
        self
    }

    /// Sets the metadata.
    pub fn with_metadata(mut self, metadata: Metadata) -> Self {
        self.metadata = metadata;
        self
    }
}

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

/// What a command did.
///
/// `Debug` and `Clone` hold for every aggregate: they need only the event enum's, which
/// the derive always provides.
pub struct CommandOutcome<A: Aggregate> {
    /// The stream the command went to.
    pub stream: StreamId,
    /// The events it recorded (for a repeated command: the ones the first run recorded).
    pub events: Vec<A::Event>,
    /// The stream's version right after the command's events.
    pub version: u64,
    /// The log position of its last event; `None` when it recorded nothing.
    pub position: Option<LogPosition>,
    /// Whether the command id had been applied before, so this is the first outcome.
    pub duplicate: bool,
    /// How many attempts it took (more than 1 after concurrency conflicts).
    pub attempts: u32,
    /// The version of the snapshot this command wrote, if it crossed `snapshot_every`.
    pub snapshot_taken: Option<u64>,
}

impl<A: Aggregate> Clone for CommandOutcome<A> {
    fn clone(&self) -> Self {
        Self {
            stream: self.stream.clone(),
            events: self.events.clone(),
            version: self.version,
            position: self.position,
            duplicate: self.duplicate,
            attempts: self.attempts,
            snapshot_taken: self.snapshot_taken,
        }
    }
}

impl<A: Aggregate> std::fmt::Debug for CommandOutcome<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommandOutcome")
            .field("stream", &self.stream)
            .field("events", &self.events)
            .field("version", &self.version)
            .field("position", &self.position)
            .field("duplicate", &self.duplicate)
            .field("attempts", &self.attempts)
            .field("snapshot_taken", &self.snapshot_taken)
            .finish()
    }
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

/// Runs commands against one aggregate type in one [`EventStore`].
///
/// For each command: validate it, return the first outcome if its command id was applied
/// before, load the newest usable snapshot plus the events after it, let the aggregate
/// decide, and append the events expecting the version it loaded. On a concurrency
/// conflict it loads only the events it missed and decides again, under the
/// [`RetryPolicy`]. Every `snapshot_every` events it stores a snapshot.
///
/// ```
/// # use acci_core::prelude::*;
/// # #[event] pub struct Opened {}
/// # #[derive(Aggregate, Default, serde::Serialize, serde::Deserialize)]
/// # #[aggregate(events(Opened))]
/// # pub struct Account { open: bool }
/// # impl Apply<Opened> for Account { fn apply(&mut self, _: &Opened) { self.open = true; } }
/// # #[derive(Debug, thiserror::Error)] #[error("already open")] pub struct AlreadyOpen;
/// # pub struct Open;
/// # impl Handle<Open> for Account {
/// #     type Error = AlreadyOpen;
/// #     fn handle(&self, _: &Open) -> Result<Vec<AccountEvent>, AlreadyOpen> {
/// #         if self.open { Err(AlreadyOpen) } else { Ok(vec![Opened {}.into()]) }
/// #     }
/// # }
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let store = std::sync::Arc::new(InMemoryEventStore::new());
/// let accounts = Repository::<Account, _>::new(store);
/// let tenant = TenantId::new("acme").unwrap();
/// let id = AggregateId::new("acc-1").unwrap();
///
/// let outcome = accounts.execute(Command::new(tenant.clone(), id.clone(), Open)).await.unwrap();
/// assert_eq!(outcome.version, 1);
/// let again = accounts.execute(Command::new(tenant, id, Open)).await.unwrap_err();
/// assert!(again.domain().is_some());
/// # });
/// ```
pub struct Repository<A, S: ?Sized = dyn EventStore> {
    store: Arc<S>,
    retry: RetryPolicy,
    /// Shared by the clones of this repository; `None` unless `with_cache` turned it on.
    cache: Option<Arc<AggregateCache<A>>>,
    aggregate: PhantomData<fn() -> A>,
}

impl<A, S: ?Sized> Clone for Repository<A, S> {
    fn clone(&self) -> Self {
        Self {
            store: Arc::clone(&self.store),
            retry: self.retry,
            cache: self.cache.clone(),
            aggregate: PhantomData,
        }
    }
}

impl<A, S: ?Sized> std::fmt::Debug for Repository<A, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Repository")
            .field("aggregate", &std::any::type_name::<A>())
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl<A: Aggregate, S: EventStore + ?Sized> Repository<A, S> {
    /// A repository over `store` with the default [`RetryPolicy`].
    pub fn new(store: Arc<S>) -> Self {
        Self {
            store,
            retry: RetryPolicy::default(),
            cache: None,
            aggregate: PhantomData,
        }
    }

    /// Keeps up to `capacity` loaded aggregates in memory between commands (shared by the
    /// clones of this repository), so a command on a cached aggregate skips the load and
    /// appends in one round trip. Correct across processes: every append still states
    /// the version it decided on, so another writer's events surface as a conflict, and
    /// the retry reads only the events the entry missed; a refusal made on a cached state
    /// is checked against the store before it is answered. See
    /// [`cache_stats`](Self::cache_stats) for its hit ratio.
    pub fn with_cache(mut self, capacity: std::num::NonZeroUsize) -> Self
    where
        A: Clone,
    {
        self.cache = Some(Arc::new(AggregateCache::new(capacity, A::clone)));
        self
    }

    /// How the aggregate cache is doing; `None` without one.
    pub fn cache_stats(&self) -> Option<CacheStats> {
        self.cache.as_ref().map(|cache| cache.stats())
    }

    /// Uses `retry` for concurrency conflicts.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The store underneath.
    pub fn store(&self) -> &Arc<S> {
        &self.store
    }

    /// The stream of `aggregate_id` of `tenant`.
    pub fn stream(
        &self,
        tenant: &TenantId,
        aggregate_id: &AggregateId,
    ) -> Result<StreamId, ValidationError> {
        StreamId::new(tenant.clone(), A::TYPE, aggregate_id.clone())
    }

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
    async fn load_stream(&self, stream: &StreamId) -> Result<Loaded<A>, LoadError> {
        let state_version = (A::SNAPSHOT_EVERY > 0).then_some(A::STATE_VERSION);
        let AggregateLoad {
            snapshot,
            mut events,
        } = self.store.load_aggregate(stream, state_version).await?;
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
        Self::apply_events(&mut loaded, events)?;
        Ok(loaded)
    }

    /// Applies the events stored after `loaded.version`: after a conflict, only what was
    /// missed is read.
    async fn catch_up(&self, stream: &StreamId, loaded: &mut Loaded<A>) -> Result<(), LoadError> {
        let missed = self.store.load(stream, loaded.version + 1).await?;
        Self::apply_events(loaded, missed.into_iter().map(AggregateEvent::from))
    }

    fn apply_events(
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

    /// Runs `command`: see the type's documentation for the steps.
    ///
    /// With a command id, a command that was applied before is not run again: the answer
    /// is the first run's events and version, with `duplicate` set. A command whose
    /// decision is "no events" records nothing, so its id is not kept.
    pub async fn execute<C>(
        &self,
        command: Command<C>,
    ) -> Result<CommandOutcome<A>, CommandError<<A as Handle<C>>::Error>>
    where
        A: Handle<C>,
        C: Sync,
    {
        <A as Handle<C>>::validate(&command.payload)?;
        let stream = self.stream(&command.tenant, &command.aggregate_id)?;
        if let Some(command_id) = command.command_id {
            if let Some(record) = self.store.find_command(&command.tenant, command_id).await? {
                return self.first_outcome(&stream, record).await;
            }
        }

        let mut metadata = command.metadata.clone();
        if let (None, Some(id)) = (metadata.causation_id, command.command_id) {
            metadata.causation_id = Some(id.as_uuid());
        }

        let cached = self.cache.as_ref().and_then(|cache| cache.get(&stream));
        // Whether the state may be behind the store (it came from the cache, and nothing
        // has been read from the store since).
        let mut maybe_stale = cached.is_some();
        let mut loaded = match cached {
            Some(loaded) => loaded,
            None => self.load_stream(&stream).await?,
        };
        let mut attempt = 1;
        loop {
            let decision = loaded.state.handle(&command.payload);
            // A refusal or an empty decision may come from a state that already holds this
            // very command, recorded by a racing request after the first look-up: then
            // the first outcome is the answer, not the refusal.
            let events = match decision {
                Ok(events) if !events.is_empty() => events,
                _ if maybe_stale => {
                    // No append will check a refusal's version: read what the cached
                    // state may have missed, and decide again if there was anything.
                    maybe_stale = false;
                    let version = loaded.version;
                    self.catch_up(&stream, &mut loaded).await?;
                    if loaded.version != version {
                        self.cache_put(&stream, &loaded);
                    }
                    continue;
                }
                decision => {
                    if let Some(record) = self.recorded(&command).await? {
                        return self.first_outcome(&stream, record).await;
                    }
                    let events = decision.map_err(CommandError::Domain)?;
                    return Ok(CommandOutcome {
                        stream,
                        events,
                        version: loaded.version,
                        position: None,
                        duplicate: false,
                        attempts: attempt,
                        snapshot_taken: None,
                    });
                }
            };
            let new_events = events
                .iter()
                .map(|e| NewEvent::from_enum(e, metadata.clone()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| {
                    CommandError::Persistence(StoreError::Backend {
                        message: format!("an event of `{}` did not serialize: {e}", A::TYPE),
                        retryable: false,
                        source: Some(Box::new(e)),
                    })
                })?;
            let expected = ExpectedVersion::Exactly(loaded.version);
            match self
                .store
                .append(&stream, expected, new_events, command.command_id)
                .await
            {
                Ok(AppendOutcome::Appended(appended)) => {
                    let before = loaded.version;
                    for event in &events {
                        loaded.state.apply_event(event);
                    }
                    loaded.version = appended.last_sequence;
                    loaded.events_applied += events.len();
                    let snapshot_taken = self.maybe_snapshot(&stream, &loaded, before).await;
                    if let Some(version) = snapshot_taken {
                        // The cached state now starts from that snapshot: count anew.
                        loaded.snapshot_version = Some(version);
                        loaded.events_applied = 0;
                    }
                    self.cache_put(&stream, &loaded);
                    return Ok(CommandOutcome {
                        stream,
                        events,
                        version: appended.last_sequence,
                        position: Some(appended.last_position),
                        duplicate: false,
                        attempts: attempt,
                        snapshot_taken,
                    });
                }
                Ok(AppendOutcome::AlreadyApplied(record)) => {
                    return self.first_outcome(&stream, record).await;
                }
                Err(StoreError::Conflict(conflict)) => {
                    if attempt >= self.retry.max_attempts {
                        return Err(CommandError::Concurrency {
                            conflict,
                            attempts: attempt,
                        });
                    }
                    if let Some(record) = self.recorded(&command).await? {
                        return self.first_outcome(&stream, record).await;
                    }
                    attempt += 1;
                    let delay = self.retry.delay_before(attempt);
                    if !delay.is_zero() {
                        tokio::time::sleep(delay).await;
                    }
                    self.catch_up(&stream, &mut loaded).await?;
                    maybe_stale = false;
                }
                Err(other) => return Err(other.into()),
            }
        }
    }

    fn cache_put(&self, stream: &StreamId, loaded: &Loaded<A>) {
        if let Some(cache) = &self.cache {
            cache.put(stream, loaded);
        }
    }

    /// The record of the command's id, if it has one and it was applied.
    async fn recorded<C>(&self, command: &Command<C>) -> Result<Option<CommandRecord>, StoreError> {
        match command.command_id {
            Some(id) => self.store.find_command(&command.tenant, id).await,
            None => Ok(None),
        }
    }

    /// The answer to a repeated command: the events its first run recorded.
    async fn first_outcome<E>(
        &self,
        stream: &StreamId,
        record: CommandRecord,
    ) -> Result<CommandOutcome<A>, CommandError<E>> {
        if record.stream != *stream {
            return Err(CommandError::Validation(ValidationError::new(
                "command id",
                format!(
                    "{} was already used for stream {}, not {stream}",
                    record.command_id, record.stream
                ),
            )));
        }
        let stored = self
            .store
            .load_range(stream, record.first_sequence, record.last_sequence)
            .await?;
        let events = stored
            .into_iter()
            .map(|e| e.decode::<A::Event>().map(|r| r.data))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(CommandOutcome {
            stream: stream.clone(),
            events,
            version: record.last_sequence,
            position: Some(record.last_position),
            duplicate: true,
            attempts: 1,
            snapshot_taken: None,
        })
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
        let state = &loaded.state;
        let state = match state.to_snapshot() {
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
        match self.store.save_snapshot(stream, snapshot).await {
            Ok(()) => Some(after),
            Err(error) => {
                tracing::warn!(%stream, %error, "saving a snapshot failed; the next load replays the events");
                None
            }
        }
    }
}
