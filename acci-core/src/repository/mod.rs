//! The command path: load an aggregate, let it decide, append what it decided.
//!
//! [`Repository`] and its settings are here; the steps of a command have a module each:
//! `load` (the newest usable snapshot and the events after it), `execute` (the decision,
//! the retries, and the answer to a command whose id was recorded before) and `commit`
//! (append, apply, snapshot, cache).

mod cache;
mod command;
mod commit;
mod execute;
mod load;
mod retry;
mod temporal;

use std::marker::PhantomData;
use std::sync::Arc;

pub use cache::CacheStats;
pub use command::{Command, CommandOutcome};
pub use execute::Execution;
pub use load::{LoadError, Loaded};
pub use retry::RetryPolicy;
pub use temporal::AsOf;

use cache::AggregateCache;

use crate::aggregate::{Aggregate, Handle};
use crate::authorization::{AuditSink, CommandAuthorizer, CommandGuard};
use crate::error::ValidationError;
use crate::ids::{AggregateId, StreamId, TenantId, validate_type_name};
use crate::store::EventStore;

/// Runs commands against one aggregate type in one [`EventStore`].
///
/// For each command: ask the [`CommandAuthorizer`], if one is set (a denial is
/// [`CommandError::Unauthorized`](crate::CommandError::Unauthorized), with no store call),
/// validate it, return the first outcome if its command id was applied
/// before (one store call: the record carries its events), load the newest usable
/// snapshot plus the events after it, let the aggregate decide, and append the events
/// expecting the version it loaded. On a concurrency conflict it loads only the events it
/// missed and decides again, under the [`RetryPolicy`]. Every `snapshot_every` events it
/// stores a snapshot. An answer of the store that the command id was recorded, whenever it
/// comes (before the load, from the append, or before a refusal is answered), is turned
/// into the first outcome the same way.
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
    /// The authorizer asked before anything is read, and the audit sink of denials.
    guard: CommandGuard,
    /// [`Aggregate::TYPE`], checked and shared once for all the streams this repository
    /// names: every command names one, and checking the same constant and copying it
    /// into a fresh `Arc` each time cost as much as a tenth of a command's own work.
    aggregate_type: Result<Arc<str>, ValidationError>,
    aggregate: PhantomData<fn() -> A>,
}

impl<A, S: ?Sized> Clone for Repository<A, S> {
    fn clone(&self) -> Self {
        Self {
            store: Arc::clone(&self.store),
            retry: self.retry,
            cache: self.cache.clone(),
            guard: self.guard.clone(),
            aggregate_type: self.aggregate_type.clone(),
            aggregate: PhantomData,
        }
    }
}

impl<A, S: ?Sized> std::fmt::Debug for Repository<A, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Repository")
            .field("aggregate", &std::any::type_name::<A>())
            .field("retry", &self.retry)
            .field("authorized", &self.guard.is_on())
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
            guard: CommandGuard::default(),
            aggregate_type: validate_type_name("aggregate type", A::TYPE)
                .map(|()| Arc::from(A::TYPE)),
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

    /// Asks `authorizer` about every command, first: before its validation, before its
    /// command id is looked up, before its aggregate is loaded. A denial answers
    /// [`CommandError::Unauthorized`](crate::CommandError::Unauthorized) with nothing
    /// read or written, and its audit record goes to the audit sink (by default a
    /// `tracing` event, see [`with_audit`](Self::with_audit)). Without an authorizer
    /// every command is allowed.
    pub fn with_authorizer(mut self, authorizer: Arc<dyn CommandAuthorizer>) -> Self {
        self.guard.set_authorizer(authorizer);
        self
    }

    /// Hands the audit records of denied commands to `audit` instead of the default
    /// [`TracingAuditSink`](crate::authorization::TracingAuditSink).
    pub fn with_audit(mut self, audit: Arc<dyn AuditSink>) -> Self {
        self.guard.set_audit(audit);
        self
    }

    /// Runs `command`: see the type's documentation for the steps.
    ///
    /// With a command id, a command that was applied before is not run again: the answer
    /// is the first run's events and version, with `duplicate` set, and it costs one call
    /// to the store. A command whose decision is "no events" records nothing, so its id
    /// is not kept.
    ///
    /// Declared here, beside the type, so that a compiler note about its bounds names it
    /// `Repository::execute`; the steps are in `execute.rs`.
    pub fn execute<'r, C>(
        &'r self,
        command: Command<C>,
    ) -> Execution<'r, A, <A as Handle<C>>::Error>
    where
        A: Handle<C>,
        C: Send + Sync + 'static,
    {
        Execution::new(self.run(command))
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
        // What `StreamId::new` checks, done once in `new`.
        let aggregate_type = self.aggregate_type.as_ref().map_err(Clone::clone)?;
        Ok(StreamId {
            tenant: tenant.clone(),
            aggregate_type: Arc::clone(aggregate_type),
            aggregate_id: aggregate_id.clone(),
        })
    }
}
