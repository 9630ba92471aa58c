//! Group commit: appends of one store that arrive while others are in flight travel
//! together, as one database call and one transaction.
//!
//! An append runs at once, in its caller's task, while fewer than
//! [`GroupCommit::max_in_flight`] calls of the store are in flight: a lone client waits
//! for nothing, no timer, no channel. Past that, it queues. Whenever a call ends, the
//! queue's first waiting appends of one tenant (at most [`GroupCommit::max_batch`], and
//! at most [`MAX_EVENTS_PER_APPEND`] events together) go as one call
//! ([`batch::append_batch`]), in a task of its own, and each caller gets its own answer.
//! The handover happens in a drop guard, so a caller whose future is dropped mid-call
//! still starts the next batch: the queue is never stranded.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use acci_core::observability::names::APPEND_BATCH_SIZE;
use acci_core::{AppendOutcome, MAX_EVENTS_PER_APPEND, StoreError, ValidationError};
use sqlx::PgPool;
use tokio::runtime::Handle;
use tokio::sync::oneshot;

use super::append::{Request, append_one};
use super::batch;

/// How [`PgEventStore`](crate::PgEventStore) groups concurrent appends; see
/// [`with_group_commit`](crate::PgEventStore::with_group_commit) and
/// `docs/postgres.md`, "Group commit".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupCommit {
    /// The most appends one database call carries, 1 to [`GroupCommit::MAX_BATCH`]
    /// (default 64).
    pub max_batch: usize,
    /// How many append calls of the store may be in flight at once, at least 1 (default
    /// 1). An append that finds fewer in flight runs at once; the others queue and go in
    /// the next batch. More calls in flight keep more connections (and server cores)
    /// writing; fewer make bigger batches. The default is what measured best with 16
    /// clients on a 2-core server (`docs/performance.md`, "Group commit"); raise it for a
    /// server with cores to spare. Keep it below the pool's size, so that loads and
    /// batches do not wait for each other's connections.
    pub max_in_flight: usize,
}

impl Default for GroupCommit {
    fn default() -> Self {
        Self {
            max_batch: 64,
            max_in_flight: 1,
        }
    }
}

impl GroupCommit {
    /// The largest [`max_batch`](Self::max_batch): what `event_store.append_batch` takes
    /// in one call.
    pub const MAX_BATCH: usize = 1000;

    /// Refuses options the store cannot work with: a `max_batch` outside 1 to
    /// [`MAX_BATCH`](Self::MAX_BATCH), or no call in flight at all.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if !(1..=Self::MAX_BATCH).contains(&self.max_batch) {
            return Err(ValidationError::new(
                "group commit `max_batch`",
                format!(
                    "is {}; a batch carries 1 to {} appends",
                    self.max_batch,
                    Self::MAX_BATCH
                ),
            ));
        }
        if self.max_in_flight == 0 {
            return Err(ValidationError::new(
                "group commit `max_in_flight`",
                "is 0; at least one append must be able to run",
            ));
        }
        Ok(())
    }
}

/// Records how many appends one database call carried (1: an append alone).
pub(crate) fn record_batch_size(appends: usize) {
    metrics::histogram!(APPEND_BATCH_SIZE).record(appends as f64);
}

/// The queue and the calls in flight of one store (and its clones).
pub(crate) struct Group {
    options: GroupCommit,
    state: Mutex<State>,
}

impl std::fmt::Debug for Group {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.lock();
        f.debug_struct("Group")
            .field("options", &self.options)
            .field("in_flight", &state.in_flight)
            .field("queued", &state.queue.len())
            .finish()
    }
}

/// Invariant: the queue is empty whenever fewer than `max_in_flight` calls are in flight
/// (whoever lowers `in_flight` starts batches until it is full again or the queue empty).
struct State {
    in_flight: usize,
    queue: VecDeque<Waiting>,
}

/// An append waiting for a batch, and where its answer goes.
struct Waiting {
    request: Request,
    reply: oneshot::Sender<Result<AppendOutcome, StoreError>>,
}

impl Group {
    pub(crate) fn new(options: GroupCommit) -> Self {
        Self {
            options,
            state: Mutex::new(State {
                in_flight: 0,
                queue: VecDeque::new(),
            }),
        }
    }

    pub(crate) fn options(&self) -> GroupCommit {
        self.options
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding the lock; if something did, the state is still
        // whole (every change is one push, pop or count).
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Appends at once if a call may start, or else in the next batch.
    pub(crate) async fn append(
        self: &Arc<Self>,
        pool: &PgPool,
        request: Request,
    ) -> Result<AppendOutcome, StoreError> {
        let queued = {
            let mut state = self.lock();
            if state.in_flight < self.options.max_in_flight {
                state.in_flight += 1;
                Err(request)
            } else {
                let (reply, answer) = oneshot::channel();
                state.queue.push_back(Waiting { request, reply });
                Ok(answer)
            }
        };
        match queued {
            Err(request) => {
                // Hands the slot over however this future ends, answered or dropped.
                let _slot = Slot::new(Arc::clone(self), pool.clone());
                record_batch_size(1);
                append_one(pool, &request).await
            }
            Ok(answer) => answer.await.unwrap_or_else(|_| {
                Err(StoreError::Backend {
                    message: "appending events: the batch carrying this append ended without \
                              an answer (its runtime shut down); it may or may not have \
                              committed"
                        .to_owned(),
                    retryable: true,
                    source: None,
                })
            }),
        }
    }

    /// One call ended: starts batches from the queue while calls may start.
    fn release(self: &Arc<Self>, pool: &PgPool, runtime: &Handle) {
        let mut batches = Vec::new();
        {
            let mut state = self.lock();
            state.in_flight -= 1;
            while state.in_flight < self.options.max_in_flight {
                let batch = self.take_batch(&mut state.queue);
                if batch.is_empty() {
                    break;
                }
                state.in_flight += 1;
                batches.push(batch);
            }
        }
        // Spawned after the lock is released: a runtime that is shutting down drops the
        // task at once, and its slot's drop comes back here.
        for batch in batches {
            let slot = Slot {
                group: Arc::clone(self),
                pool: pool.clone(),
                runtime: runtime.clone(),
            };
            runtime.spawn(async move {
                let slot = slot;
                run(&slot.pool, batch).await;
            });
        }
    }

    /// The queue's first waiting appends of one tenant, as many as one call carries; the
    /// rest stay queued in their order. An append whose caller has gone is dropped:
    /// nobody waits for its answer.
    fn take_batch(&self, queue: &mut VecDeque<Waiting>) -> Vec<Waiting> {
        queue.retain(|waiting| !waiting.reply.is_closed());
        let Some(first) = queue.front() else {
            return Vec::new();
        };
        let tenant = first.request.stream.tenant.clone();
        let mut batch = Vec::new();
        let (mut events, mut full) = (0, false);
        let mut rest = VecDeque::with_capacity(queue.len());
        for waiting in queue.drain(..) {
            let size = waiting.request.events();
            if !full && waiting.request.stream.tenant == tenant {
                if batch.is_empty() || events + size <= MAX_EVENTS_PER_APPEND {
                    events += size;
                    batch.push(waiting);
                    full = batch.len() == self.options.max_batch;
                    continue;
                }
                // The first one that does not fit closes the batch, so appends to one
                // stream keep their order.
                full = true;
            }
            rest.push_back(waiting);
        }
        *queue = rest;
        batch
    }
}

/// Sends one batch and answers each of its callers.
async fn run(pool: &PgPool, batch: Vec<Waiting>) {
    let (requests, replies): (Vec<Request>, Vec<_>) = batch
        .into_iter()
        .map(|waiting| (waiting.request, waiting.reply))
        .unzip();
    record_batch_size(requests.len());
    let outcomes = batch::append_batch(pool, &requests).await;
    for (reply, outcome) in replies.into_iter().zip(outcomes) {
        // A caller that has gone does not need its answer.
        let _ = reply.send(outcome);
    }
}

/// A call in flight. Dropping it (the call answered, or its future dropped) starts the
/// next batches.
struct Slot {
    group: Arc<Group>,
    pool: PgPool,
    runtime: Handle,
}

impl Slot {
    fn new(group: Arc<Group>, pool: PgPool) -> Self {
        Self {
            group,
            pool,
            // Appends run on a Tokio runtime; batches are spawned on the same one.
            runtime: Handle::current(),
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.group.release(&self.pool, &self.runtime);
    }
}
