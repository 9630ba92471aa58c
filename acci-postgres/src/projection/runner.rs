//! [`Runner`]: catch-up, then live; one active runner per projection; the drain loop and
//! its failure policy.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use acci_core::projection::{BatchObserver, Committed};
use acci_core::{EventId, Projection, ValidationError};
use sqlx::PgConnection;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tracing::Instrument;

use super::batch::{BatchContext, run_batch};
use super::checkpoint::Checkpoint;
use super::error::{BatchError, EventFailure, RunnerError};
use super::lease::{Lock, detached_connection, unlock, wait_for_lock};
use super::model::{Custom, CustomProjection, RunnerModel, Table};
use super::observer::{Observer, tell};
use super::options::{FailurePolicy, RunnerOptions};
use crate::error::store_error;

/// Keeps the read model of `P` current from the event log.
///
/// Each batch reads the next events `P` selects after its checkpoint, loads every row
/// they touch in one query, applies them in log order, writes the rows back in one
/// statement and moves the checkpoint, all in one transaction: a crash at any point
/// neither loses nor repeats an event. The checkpoint only moves from where the batch
/// found it, so even two runners at once cannot count an event twice; normally only one
/// is active, holding a PostgreSQL advisory lock, while others wait to take over.
///
/// Connect it as a role in `acci_all_tenants` (it reads every tenant) that may create
/// tables in the `read_models` schema.
#[derive(Debug)]
pub struct Runner<M> {
    pub(super) pool: PgPool,
    pub(super) options: RunnerOptions,
    pub(super) model: Arc<M>,
    /// Told after each commit that changed the live read model.
    pub(super) observer: Option<Observer>,
}

/// The runner of a `#[projection]` read model `P`.
pub type ProjectionRunner<P> = Runner<Table<P>>;

/// The runner of a hand-written [`CustomProjection`].
pub type CustomProjectionRunner<C> = Runner<Custom<C>>;

impl<M> Clone for Runner<M> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
            options: self.options,
            model: Arc::clone(&self.model),
            observer: self.observer.clone(),
        }
    }
}

impl<P: Projection> Runner<Table<P>> {
    /// A runner for the `#[projection]` read model `P`, with the default options.
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            options: RunnerOptions::default(),
            model: Arc::new(Table::default()),
            observer: None,
        }
    }
}

impl<C: CustomProjection> Runner<Custom<C>> {
    /// A runner for the hand-written projection `projection`, with the default options.
    pub fn new(pool: PgPool, projection: C) -> Self {
        Self {
            pool,
            options: RunnerOptions::default(),
            model: Arc::new(Custom(projection)),
            observer: None,
        }
    }
}

/// The events that failed to project and have not been set aside yet, with their typed
/// failure and how often they failed.
#[derive(Debug, Default)]
pub(crate) struct Failures(HashMap<EventId, Failure>);

/// One event's failures so far.
#[derive(Debug)]
pub(crate) struct Failure {
    /// The last failure.
    pub(crate) error: EventFailure,
    /// How many times it failed.
    pub(crate) attempts: u32,
}

impl Failures {
    /// Counts one more failure of `event_id`; returns its failures so far.
    fn record(&mut self, event_id: EventId, error: EventFailure) -> u32 {
        let attempts = self.0.get(&event_id).map_or(0, |f| f.attempts) + 1;
        self.0.insert(event_id, Failure { error, attempts });
        attempts
    }

    /// `Some` if `event_id` failed often enough under `policy` to be set aside now.
    pub(crate) fn due(&self, event_id: &EventId, policy: FailurePolicy) -> Option<&Failure> {
        self.0
            .get(event_id)
            .filter(|failure| policy.sets_aside_after(failure.attempts))
    }

    /// Forgets the events a committed batch set aside.
    fn settle(&mut self, set_aside: &[EventId]) {
        for id in set_aside {
            self.0.remove(id);
        }
    }
}

impl<M: RunnerModel> Runner<M> {
    /// Uses `options`; refuses options out of range ([`RunnerOptions::validate`]) here,
    /// before any I/O.
    pub fn with_options(mut self, options: RunnerOptions) -> Result<Self, ValidationError> {
        options.validate()?;
        self.options = options;
        Ok(self)
    }

    /// Tells `observer` after each commit that changed the live read model: the rows a
    /// batch (or a replayed dead letter) wrote, and the swap of a rebuild. The runner
    /// waits up to `timeout` for it before its next batch, then logs and goes on: a read
    /// model cache invalidated this way is stale at most from the commit until the
    /// observer returns, or `timeout` ([`OBSERVER_TIMEOUT`](super::OBSERVER_TIMEOUT) is a
    /// good default). Refuses a zero `timeout`, before any I/O.
    ///
    /// Batches of a rebuild fill a table no reader sees yet, so the observer hears only
    /// of its swap.
    pub fn with_batch_observer(
        mut self,
        observer: Arc<dyn BatchObserver>,
        timeout: Duration,
    ) -> Result<Self, ValidationError> {
        self.observer = Some(Observer::new(observer, timeout)?);
        Ok(self)
    }

    /// Applies every event available now, batch after batch, on one connection; returns
    /// how many it applied. Does not take the advisory lock: the checkpoint keeps even
    /// concurrent callers exact, but [`run`](Self::run) is what a service should use.
    /// A storage failure returns at once ([`RunnerError::is_retryable`] says whether
    /// calling again may help); [`run`](Self::run) retries such failures itself.
    pub async fn catch_up(&self) -> Result<u64, RunnerError> {
        self.prepare().await?;
        let mut conn = detached_connection(&self.pool).await?;
        self.drain(&mut conn, &mut Failures::default()).await
    }

    /// Runs until `shutdown` completes: waits to become the active runner (advisory
    /// lock), catches up, then applies new events as notifications arrive, polling when
    /// none does. A storage failure (a lost connection, a serialization failure) sends
    /// it back to waiting for the lock and is never counted against an event; it
    /// returns an error only under [`FailurePolicy::Stop`].
    ///
    /// A failure that trying again will not cure (a revoked right, a missing table, a
    /// row the table refuses that no one event can be blamed for) is no reason to stop
    /// either, but it is loud: each failed turn is logged at `ERROR` (a transient one at
    /// `WARN`) with the number of turns failed in a row, recorded in the checkpoint
    /// ([`RunnerStatus::failing`](super::RunnerStatus::failing): since when, how many
    /// turns, the last error), and followed by a wait that doubles from
    /// [`RunnerOptions::standby_interval`] up to [`MAX_RETRY_WAIT`]. The first batch that
    /// commits clears it.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) -> Result<(), RunnerError> {
        tokio::pin!(shutdown);
        let name = self.model.name();
        let mut streak = 0u32;
        loop {
            tokio::select! {
                () = &mut shutdown => return Ok(()),
                result = self.run_while_active(&mut streak) => match result {
                    Err(error) if matches!(self.options.failure, FailurePolicy::Stop) && !error.is_retryable() => {
                        return Err(error);
                    }
                    Err(error) => {
                        streak = streak.saturating_add(1);
                        let wait = retry_wait(self.options.standby_interval, streak);
                        if error.is_retryable() {
                            tracing::warn!(projection = name, %error, failed_turns = streak, ?wait,
                                "projection runner failed; retrying");
                        } else {
                            tracing::error!(projection = name, %error, failed_turns = streak, ?wait,
                                "projection runner failed, and will again until the cause is fixed; retrying");
                        }
                        Checkpoint::live(name)
                            .note_error(&self.pool, &error.to_string())
                            .await;
                        tokio::time::sleep(wait).await;
                    }
                    Ok(()) => {}
                },
            }
        }
    }

    /// One turn of [`run`](Self::run): wait for the lock, then work until something
    /// fails. `streak` counts the turns failed in a row; work that goes well clears it.
    async fn run_while_active(&self, streak: &mut u32) -> Result<(), RunnerError> {
        let name = self.model.name();
        let mut conn = detached_connection(&self.pool).await?;
        wait_for_lock(&mut conn, Lock::Active, name, self.options.standby_interval).await?;
        tracing::info!(projection = name, "active projection runner");
        let result = self.work(&mut conn, streak).await;
        unlock(&mut conn, Lock::Active, name).await;
        result
    }

    async fn work(&self, conn: &mut PgConnection, streak: &mut u32) -> Result<(), RunnerError> {
        self.prepare_on(conn).await?;
        let mut listener = PgListener::connect_with(&self.pool)
            .await
            .map_err(|e| store_error(e, "listening"))?;
        listener
            .listen(super::EVENTS_CHANNEL)
            .await
            .map_err(|e| store_error(e, "listening"))?;
        let mut failures = Failures::default();
        loop {
            self.drain(conn, &mut failures).await?;
            if *streak > 0 {
                // Caught up after failed turns: the status says so at once, even with no
                // event to commit a batch for.
                Checkpoint::live(self.model.name())
                    .clear_error(&mut *conn)
                    .await?;
                *streak = 0;
            }
            // A notification or the poll interval, whichever comes first: notifications
            // can be lost (a dropped listener connection), polling cannot.
            tokio::select! {
                received = listener.try_recv() => {
                    received.map_err(|e| store_error(e, "waiting for notifications"))?;
                }
                () = tokio::time::sleep(self.options.poll_interval) => {}
            }
        }
    }

    /// Runs batches into the live table until the log has nothing more.
    async fn drain(
        &self,
        conn: &mut PgConnection,
        failures: &mut Failures,
    ) -> Result<u64, RunnerError> {
        let live = Checkpoint::live(self.model.name());
        self.drain_into(conn, super::READ_MODEL_SCHEMA, live, failures, false)
            .await
    }

    /// Runs batches into the tables in `schema` and `checkpoint` until the log has
    /// nothing more; handles failing events by the policy. `sole_writer` says nothing
    /// else writes those tables (a rebuild), so rows written need not be read back.
    pub(super) async fn drain_into(
        &self,
        conn: &mut PgConnection,
        schema: &'static str,
        checkpoint: Checkpoint,
        failures: &mut Failures,
        sole_writer: bool,
    ) -> Result<u64, RunnerError> {
        let policy = self.options.failure;
        let mut applied = 0;
        // Known between batches that commit; forgotten when one does not.
        let mut known = None;
        let mut memory = M::Memory::default();
        // Batches still to run one event at a time, to pin a write that failed on its event.
        let mut narrow = 0usize;
        loop {
            let context = BatchContext {
                model: &*self.model,
                schema,
                checkpoint,
                batch_size: if narrow > 0 {
                    1
                } else {
                    self.options.batch_size
                },
                failures,
                policy,
                known,
                written: self.observer.is_some() && schema == super::READ_MODEL_SCHEMA,
            };
            let span = crate::observability::batch_span(self.model.name(), schema);
            let batch = run_batch(&context, conn, sole_writer.then_some(&mut memory));
            match batch.instrument(span).await {
                Ok(outcome) => {
                    let rows = Committed::Rows {
                        projection: self.model.name(),
                        rows: &outcome.written,
                    };
                    tell(self.observer.as_ref(), rows).await;
                    known = Some(outcome.checkpoint);
                    failures.settle(&outcome.set_aside);
                    applied += outcome.counts.applied;
                    narrow = narrow.saturating_sub(1);
                    if outcome.caught_up {
                        return Ok(applied);
                    }
                }
                Err(BatchError::Runner(error)) => return Err(error),
                Err(BatchError::Rows(error)) => {
                    // Some event of the batch made a row the table refuses: run the same
                    // events one at a time, where the failure is that event's.
                    known = None;
                    memory = M::Memory::default();
                    tracing::warn!(projection = self.model.name(), %error,
                        "a batch's rows were refused; running its events one at a time");
                    narrow = self.options.batch_size;
                }
                Err(BatchError::Event {
                    event_id,
                    position,
                    error,
                }) => {
                    // Nothing of the batch committed: what it remembered is not so.
                    known = None;
                    memory = M::Memory::default();
                    tracing::warn!(projection = self.model.name(), %event_id, %error, "an event failed to project");
                    if policy == FailurePolicy::Stop {
                        return Err(RunnerError::Stopped {
                            projection: self.model.name(),
                            event_id,
                            position,
                            error,
                        });
                    }
                    let attempts = failures.record(event_id, error);
                    if let FailurePolicy::RetryThenPark { backoff, .. } = policy
                        && !policy.sets_aside_after(attempts)
                    {
                        tokio::time::sleep(backoff).await;
                    }
                }
            }
        }
    }
}

/// The longest [`Runner::run`] waits between failed turns.
pub const MAX_RETRY_WAIT: Duration = Duration::from_secs(30);

/// The wait after `streak` failed turns in a row: `first`, doubled each turn, at most
/// [`MAX_RETRY_WAIT`].
pub(crate) fn retry_wait(first: Duration, streak: u32) -> Duration {
    let doubled = first.saturating_mul(1 << streak.saturating_sub(1).min(16));
    doubled.min(MAX_RETRY_WAIT).max(first.min(MAX_RETRY_WAIT))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_doubles_up_to_its_limit() {
        let first = Duration::from_millis(500);
        let waits: Vec<_> = (1..=8).map(|streak| retry_wait(first, streak)).collect();
        assert_eq!(waits[0], first);
        assert_eq!(waits[1], first * 2);
        assert_eq!(waits[5], first * 32);
        assert_eq!(waits[7], MAX_RETRY_WAIT);
        assert_eq!(retry_wait(first, u32::MAX), MAX_RETRY_WAIT);
    }
}
