//! [`ProjectionRunner`]: catch-up, then live; one active runner per projection.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use acci_core::{EventId, LogPosition, Projection, StoreError};
use acci_schema::postgres::quote_ident as quoted;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgListener;
use sqlx::{Connection, Executor, PgConnection, PgPool, Row};

use super::batch::{BatchError, Target, run_batch};
use super::model::{Custom, CustomProjection, RunnerModel, Table};
use crate::error::store_error;
use crate::rows::{corrupt, log_position, to_u64};

/// What happens to an event that fails to project (does not decode, has no key, or makes
/// `project` panic).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailurePolicy {
    /// Try the batch again up to `attempts` times in all, waiting `backoff` between tries;
    /// then park the event in the dead-letter table and go on. The default: 3 attempts,
    /// 200 ms apart.
    RetryThenPark {
        /// Tries in all before parking, at least 1.
        attempts: u32,
        /// The wait between tries.
        backoff: Duration,
    },
    /// Park the event at once and go on.
    Park,
    /// Skip the event at once and go on: it is counted and logged, not kept.
    Skip,
    /// Stop the runner with the error; the event stays unprocessed.
    Stop,
}

impl Default for FailurePolicy {
    fn default() -> Self {
        FailurePolicy::RetryThenPark {
            attempts: 3,
            backoff: Duration::from_millis(200),
        }
    }
}

/// How a [`ProjectionRunner`] works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunnerOptions {
    /// Events per batch (and per transaction).
    pub batch_size: usize,
    /// How often a live runner looks for events when no notification came.
    pub poll_interval: Duration,
    /// How often a standby runner tries to become the active one.
    pub standby_interval: Duration,
    /// What to do with an event that fails to project.
    pub failure: FailurePolicy,
}

impl Default for RunnerOptions {
    fn default() -> Self {
        Self {
            batch_size: 500,
            poll_interval: Duration::from_millis(500),
            standby_interval: Duration::from_millis(500),
            failure: FailurePolicy::default(),
        }
    }
}

/// Whether the runner is working.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProjectionState {
    /// Caught up, or catching up, with no error since the last batch.
    Running,
    /// The last batch failed; see `last_error`.
    Failing,
}

/// Where a projection stands, read from its checkpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct RunnerStatus {
    /// The projection.
    pub name: &'static str,
    /// Its version in the database.
    pub version: u32,
    /// The last log position applied or passed.
    pub position: LogPosition,
    /// Events applied, ever.
    pub events_applied: u64,
    /// Events parked, ever.
    pub events_parked: u64,
    /// Events skipped under [`FailurePolicy::Skip`], ever.
    pub events_skipped: u64,
    /// Events of its types in the log after its position (visible ones).
    pub lag_events: u64,
    /// How old the last applied event was when the status was read.
    pub lag: Option<chrono::Duration>,
    /// Running or failing.
    pub state: ProjectionState,
    /// The last error, until a batch succeeds again.
    pub last_error: Option<String>,
}

/// What [`Runner::replay_dead_letters`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Replayed {
    /// Parked events that projected this time and left the dead-letter table.
    pub applied: u64,
    /// Parked events that failed again and stay parked.
    pub still_failing: u64,
}

/// An event a projection parked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// The event.
    pub event_id: EventId,
    /// Its stored type.
    pub event_type: String,
    /// Its log position.
    pub position: LogPosition,
    /// Why it did not project.
    pub error: String,
    /// How many times it was tried.
    pub attempts: u32,
    /// When it was parked.
    pub parked_at: DateTime<Utc>,
}

/// Keeps the read model of `P` current from the event log.
///
/// Each batch reads the next events of `P`'s types after its checkpoint, loads every row
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
    pool: PgPool,
    options: RunnerOptions,
    model: Arc<M>,
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
        }
    }
}

impl<M: RunnerModel> Runner<M> {
    /// Uses `options`.
    pub fn with_options(mut self, options: RunnerOptions) -> Self {
        self.options = options;
        self
    }

    /// A connection taken out of the pool. Runners hold session-level advisory locks (the
    /// active-runner lock, the rebuild lock) on their connections; out of the pool, such
    /// a connection closes when the runner stops or its task is cancelled, and the lock
    /// goes with it instead of going back into the pool.
    async fn detached_connection(&self) -> Result<PgConnection, StoreError> {
        let conn = self
            .pool
            .acquire()
            .await
            .map_err(|e| store_error(e, "acquiring a connection"))?;
        Ok(conn.detach())
    }

    /// Creates the read-model table, its indexes and its checkpoint if missing. If the
    /// database holds another version of the read model, rebuilds it first (see
    /// [`rebuild`](Self::rebuild)). Idempotent; safe when several runners start at once.
    pub async fn prepare(&self) -> Result<(), StoreError> {
        let mut conn = self.detached_connection().await?;
        self.prepare_on(&mut conn).await
    }

    async fn prepare_on(&self, conn: &mut PgConnection) -> Result<(), StoreError> {
        let doing = format!("preparing projection `{}`", self.model.name());
        let mut tx = conn.begin().await.map_err(|e| store_error(e, &doing))?;
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind(format!("acci.prepare.{}", self.model.name()))
            .execute(&mut *tx)
            .await
            .map_err(|e| store_error(e, &doing))?;
        let stored: Option<i32> =
            sqlx::query_scalar("SELECT version FROM projections.checkpoints WHERE name = $1")
                .bind(self.model.name())
                .fetch_optional(&mut *tx)
                .await
                .map_err(|e| store_error(e, &doing))?;
        match stored {
            Some(version) if version > version_param(self.model.version()) => {
                return Err(StoreError::Backend {
                    message: format!(
                        "projection `{}` is at version {version} in the database, newer than this build's {}; \
                         a newer build runs it, so this one stays out of the way",
                        self.model.name(),
                        self.model.version()
                    ),
                    retryable: false,
                    source: None,
                });
            }
            Some(version) if version != version_param(self.model.version()) => {
                tx.commit().await.map_err(|e| store_error(e, &doing))?;
                tracing::info!(
                    projection = self.model.name(),
                    from = version,
                    to = self.model.version(),
                    "read model version changed; rebuilding"
                );
                return self.rebuild_on(conn).await.map(|_| ());
            }
            Some(_) => {}
            None => {
                sqlx::query("INSERT INTO projections.checkpoints (name, version) VALUES ($1, $2)")
                    .bind(self.model.name())
                    .bind(version_param(self.model.version()))
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| store_error(e, &doing))?;
            }
        }
        create_tables(&*self.model, &mut tx, super::READ_MODEL_SCHEMA).await?;
        tx.commit().await.map_err(|e| store_error(e, &doing))
    }

    /// Rebuilds the read model from the start of the log without disturbing its readers:
    /// a new table fills beside the live one (schema `read_models_rebuild`), and once it
    /// has caught up, one short transaction swaps it in with its checkpoint. Readers read
    /// the old rows until the swap and the new ones after it. Returns the events applied.
    ///
    /// A changed `VERSION` rebuilds automatically when the runner starts.
    pub async fn rebuild(&self) -> Result<u64, StoreError> {
        let mut conn = self.detached_connection().await?;
        self.rebuild_on(&mut conn).await
    }

    async fn rebuild_on(&self, conn: &mut PgConnection) -> Result<u64, StoreError> {
        // One rebuild at a time: they share the side table and its checkpoint.
        let lock = format!("acci.rebuild.{}", self.model.name());
        sqlx::query("SELECT pg_advisory_lock(hashtextextended($1, 0))")
            .bind(&lock)
            .execute(&mut *conn)
            .await
            .map_err(|e| store_error(e, "taking the rebuild lock"))?;
        let rebuilt = self.rebuild_locked(conn).await;
        let _ = sqlx::query("SELECT pg_advisory_unlock(hashtextextended($1, 0))")
            .bind(&lock)
            .execute(&mut *conn)
            .await;
        rebuilt
    }

    async fn rebuild_locked(&self, conn: &mut PgConnection) -> Result<u64, StoreError> {
        let doing = format!("rebuilding projection `{}`", self.model.name());
        let checkpoint = format!("{}#rebuild", self.model.name());
        let mut tx = conn.begin().await.map_err(|e| store_error(e, &doing))?;
        for table in self.model.tables() {
            let drop_stale = format!("DROP TABLE IF EXISTS {REBUILD_SCHEMA}.{}", quoted(table));
            tx.execute(drop_stale.as_str())
                .await
                .map_err(|e| store_error(e, &doing))?;
        }
        create_tables(&*self.model, &mut tx, REBUILD_SCHEMA).await?;
        sqlx::query(
            "INSERT INTO projections.checkpoints (name, version) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET version = EXCLUDED.version, transaction_id = '0', position = 0, \
                 events_applied = 0, events_parked = 0, events_skipped = 0, last_event_at = NULL, last_error = NULL",
        )
        .bind(&checkpoint)
        .bind(version_param(self.model.version()))
        .execute(&mut *tx)
        .await
        .map_err(|e| store_error(e, &doing))?;
        tx.commit().await.map_err(|e| store_error(e, &doing))?;

        let target = Target {
            schema: REBUILD_SCHEMA,
            checkpoint: &checkpoint,
        };
        let applied = self
            .drain_into(conn, target, &mut HashMap::new(), true)
            .await?;

        let mut tx = conn.begin().await.map_err(|e| store_error(e, &doing))?;
        let live = super::READ_MODEL_SCHEMA;
        let mut swap = Vec::new();
        for table in self.model.tables() {
            let table = quoted(table);
            swap.extend([
                format!("DROP TABLE IF EXISTS {RETIRED_SCHEMA}.{table}"),
                format!("ALTER TABLE IF EXISTS {live}.{table} SET SCHEMA {RETIRED_SCHEMA}"),
                format!("ALTER TABLE {REBUILD_SCHEMA}.{table} SET SCHEMA {live}"),
                format!("DROP TABLE IF EXISTS {RETIRED_SCHEMA}.{table}"),
            ]);
        }
        for statement in swap {
            tx.execute(statement.as_str())
                .await
                .map_err(|e| store_error(e, &doing))?;
        }
        sqlx::query(
            "INSERT INTO projections.checkpoints AS live \
                 (name, version, transaction_id, position, events_applied, events_parked, events_skipped, last_event_at) \
             SELECT $1, r.version, r.transaction_id, r.position, r.events_applied, r.events_parked, r.events_skipped, r.last_event_at \
               FROM projections.checkpoints r WHERE r.name = $2 \
             ON CONFLICT (name) DO UPDATE SET version = EXCLUDED.version, transaction_id = EXCLUDED.transaction_id, \
                 position = EXCLUDED.position, events_applied = EXCLUDED.events_applied, \
                 events_parked = EXCLUDED.events_parked, events_skipped = EXCLUDED.events_skipped, \
                 last_event_at = EXCLUDED.last_event_at, \
                 last_error = NULL, updated_at = clock_timestamp()",
        )
        .bind(self.model.name())
        .bind(&checkpoint)
        .execute(&mut *tx)
        .await
        .map_err(|e| store_error(e, &doing))?;
        sqlx::query("DELETE FROM projections.checkpoints WHERE name = $1")
            .bind(&checkpoint)
            .execute(&mut *tx)
            .await
            .map_err(|e| store_error(e, &doing))?;
        tx.commit().await.map_err(|e| store_error(e, &doing))?;
        tracing::info!(
            projection = self.model.name(),
            applied,
            "rebuilt read model swapped in"
        );
        Ok(applied)
    }

    /// Applies every event available now, batch after batch, on one connection; returns
    /// how many it applied. Does not take the advisory lock: the checkpoint keeps even
    /// concurrent callers exact, but [`run`](Self::run) is what a service should use.
    pub async fn catch_up(&self) -> Result<u64, StoreError> {
        self.prepare().await?;
        let mut conn = self.detached_connection().await?;
        let mut failures = HashMap::new();
        self.drain(&mut conn, &mut failures).await
    }

    /// Runs until `shutdown` completes: waits to become the active runner (advisory
    /// lock), catches up, then applies new events as notifications arrive, polling when
    /// none does. A lost connection sends it back to waiting for the lock; it returns an
    /// error only under [`FailurePolicy::Stop`].
    pub async fn run(&self, shutdown: impl Future<Output = ()>) -> Result<(), StoreError> {
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => return Ok(()),
                result = self.run_while_active() => match result {
                    Err(error) if matches!(self.options.failure, FailurePolicy::Stop) && !error.is_retryable() => {
                        return Err(error);
                    }
                    Err(error) => {
                        tracing::warn!(projection = self.model.name(), %error, "projection runner lost its footing; retrying");
                        self.note_error(&error).await;
                        tokio::time::sleep(self.options.standby_interval).await;
                    }
                    Ok(()) => {}
                },
            }
        }
    }

    /// One turn of [`run`](Self::run): wait for the lock, then work until something fails.
    async fn run_while_active(&self) -> Result<(), StoreError> {
        // The lock belongs to this connection's session. The connection is taken out of
        // the pool, so that when this runner stops (or its task is aborted) the
        // connection closes and PostgreSQL releases the lock for a standby, instead of
        // the lock going back into the pool with it.
        let mut conn = self.detached_connection().await?;
        loop {
            let locked: bool =
                sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtextextended($1, 0))")
                    .bind(format!("acci.projection.{}", self.model.name()))
                    .fetch_one(&mut conn)
                    .await
                    .map_err(|e| store_error(e, "taking the projection lock"))?;
            if locked {
                break;
            }
            tokio::time::sleep(self.options.standby_interval).await;
        }
        tracing::info!(projection = self.model.name(), "active projection runner");
        let result = self.work(&mut conn).await;
        // Give the lock back if the connection still lives; a dead one released it.
        let _ = sqlx::query("SELECT pg_advisory_unlock(hashtextextended($1, 0))")
            .bind(format!("acci.projection.{}", self.model.name()))
            .execute(&mut conn)
            .await;
        result
    }

    async fn work(&self, conn: &mut PgConnection) -> Result<(), StoreError> {
        self.prepare_on(conn).await?;
        let mut listener = PgListener::connect_with(&self.pool)
            .await
            .map_err(|e| store_error(e, "listening"))?;
        listener
            .listen(super::EVENTS_CHANNEL)
            .await
            .map_err(|e| store_error(e, "listening"))?;
        let mut failures = HashMap::new();
        loop {
            self.drain(conn, &mut failures).await?;
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
        failures: &mut HashMap<EventId, (String, u32)>,
    ) -> Result<u64, StoreError> {
        let live = Target {
            schema: super::READ_MODEL_SCHEMA,
            checkpoint: self.model.name(),
        };
        self.drain_into(conn, live, failures, false).await
    }

    /// Runs batches into `target` until the log has nothing more; handles failing events
    /// by the policy.
    async fn drain_into(
        &self,
        conn: &mut PgConnection,
        target: Target<'_>,
        failures: &mut HashMap<EventId, (String, u32)>,
        sole_writer: bool,
    ) -> Result<u64, StoreError> {
        let mut applied = 0;
        // Known between batches that commit; forgotten when one does not.
        let mut checkpoint = None;
        let mut memory = M::Memory::default();
        loop {
            let to_park: HashMap<EventId, (String, u32)> = failures
                .iter()
                .filter(|(_, (_, n))| self.should_park(*n))
                .map(|(k, v)| (*k, v.clone()))
                .collect();
            match run_batch(
                &*self.model,
                conn,
                target,
                self.options.batch_size,
                &to_park,
                self.options.failure == FailurePolicy::Skip,
                checkpoint,
                sole_writer.then_some(&mut memory),
            )
            .await
            {
                Ok(outcome) => {
                    checkpoint = Some(outcome.checkpoint);
                    for id in to_park.keys() {
                        failures.remove(id);
                    }
                    applied += outcome.applied;
                    if outcome.caught_up {
                        return Ok(applied);
                    }
                }
                Err(BatchError::Storage(error)) => return Err(error),
                Err(BatchError::Event { event_id, error }) => {
                    // Nothing of the batch committed: what it remembered is not so.
                    checkpoint = None;
                    memory = M::Memory::default();
                    let entry = failures
                        .entry(event_id)
                        .or_insert_with(|| (error.clone(), 0));
                    entry.0 = error.clone();
                    entry.1 += 1;
                    tracing::warn!(projection = self.model.name(), %event_id, attempt = entry.1, error, "an event failed to project");
                    match self.options.failure {
                        FailurePolicy::Stop => {
                            return Err(StoreError::Backend {
                                message: format!(
                                    "projection `{}` stopped at event {event_id}: {error}",
                                    self.model.name()
                                ),
                                retryable: false,
                                source: None,
                            });
                        }
                        FailurePolicy::RetryThenPark { backoff, .. }
                            if !self.should_park(entry.1) =>
                        {
                            tokio::time::sleep(backoff).await;
                        }
                        _ => {}
                    }
                }
            }
        }
    }

    fn should_park(&self, failures: u32) -> bool {
        match self.options.failure {
            FailurePolicy::RetryThenPark { attempts, .. } => failures >= attempts.max(1),
            FailurePolicy::Park | FailurePolicy::Skip => failures >= 1,
            FailurePolicy::Stop => false,
        }
    }

    async fn note_error(&self, error: &StoreError) {
        let _ = sqlx::query("UPDATE projections.checkpoints SET last_error = $2, updated_at = clock_timestamp() WHERE name = $1")
            .bind(self.model.name())
            .bind(error.to_string())
            .execute(&self.pool)
            .await;
    }

    /// Where the projection stands: position, lag in events and in time, state, last error.
    pub async fn status(&self) -> Result<RunnerStatus, StoreError> {
        let doing = format!("reading the status of `{}`", self.model.name());
        let row = sqlx::query(
            "SELECT c.version, c.transaction_id::text AS transaction_id, c.position, c.events_applied, \
                    c.events_parked, c.events_skipped, c.last_event_at, c.last_error, \
                    (SELECT count(*) FROM event_store.read_log(NULL, c.transaction_id, c.position, 10000, $2) \
                      WHERE event_id IS NOT NULL) AS lag_events \
             FROM projections.checkpoints c WHERE c.name = $1",
        )
        .bind(self.model.name())
        .bind(self.model.event_types())
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| store_error(e, &doing))?
        .ok_or_else(|| corrupt(format!("projection `{}` has no checkpoint; prepare it first", self.model.name())))?;
        let last_error: Option<String> = row.try_get("last_error").map_err(corrupt)?;
        let last_event_at: Option<DateTime<Utc>> = row.try_get("last_event_at").map_err(corrupt)?;
        Ok(RunnerStatus {
            name: self.model.name(),
            version: u32::try_from(row.try_get::<i32, _>("version").map_err(corrupt)?).unwrap_or(0),
            position: log_position(
                &row.try_get::<String, _>("transaction_id")
                    .map_err(corrupt)?,
                row.try_get("position").map_err(corrupt)?,
            )?,
            events_applied: to_u64(
                row.try_get("events_applied").map_err(corrupt)?,
                "events applied",
            )?,
            events_parked: to_u64(
                row.try_get("events_parked").map_err(corrupt)?,
                "events parked",
            )?,
            events_skipped: to_u64(
                row.try_get("events_skipped").map_err(corrupt)?,
                "events skipped",
            )?,
            lag_events: to_u64(row.try_get("lag_events").map_err(corrupt)?, "lag")?,
            lag: last_event_at.map(|at| Utc::now() - at),
            state: if last_error.is_some() {
                ProjectionState::Failing
            } else {
                ProjectionState::Running
            },
            last_error,
        })
    }

    /// Waits until the projection has passed `position` (the `last_position` of an
    /// append), so a caller can answer from the read model right after its command.
    /// Returns `false` if `timeout` ran out first.
    pub async fn wait_for(
        &self,
        position: LogPosition,
        timeout: Duration,
    ) -> Result<bool, StoreError> {
        let deadline = Instant::now() + timeout;
        loop {
            let row = sqlx::query("SELECT transaction_id::text AS transaction_id, position FROM projections.checkpoints WHERE name = $1")
                .bind(self.model.name())
                .fetch_optional(&self.pool)
                .await
                .map_err(|e| store_error(e, "reading a checkpoint"))?;
            if let Some(row) = row {
                let reached = log_position(
                    &row.try_get::<String, _>("transaction_id")
                        .map_err(corrupt)?,
                    row.try_get("position").map_err(corrupt)?,
                )?;
                if reached >= position {
                    return Ok(true);
                }
            }
            if Instant::now() >= deadline {
                return Ok(false);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Applies the parked events again, oldest first, each in a transaction of its own:
    /// after the projection's code was fixed, say. An event that now projects leaves the
    /// dead-letter table and counts as applied; one that still fails stays, with its new
    /// error and one more attempt. The checkpoint does not move (the parked events are
    /// behind it already), so a replayed event lands after the events that followed it.
    pub async fn replay_dead_letters(&self) -> Result<Replayed, StoreError> {
        let name = self.model.name();
        let doing = format!("replaying the dead letters of `{name}`");
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(|e| store_error(e, &doing))?;
        let mut replayed = Replayed::default();
        for letter in self.dead_letters().await? {
            let mut tx = conn.begin().await.map_err(|e| store_error(e, &doing))?;
            let live = format!("SET LOCAL search_path = {}", super::READ_MODEL_SCHEMA);
            tx.execute(live.as_str())
                .await
                .map_err(|e| store_error(e, &doing))?;
            tx.execute("SELECT set_config('acci.all_tenants', 'on', true)")
                .await
                .map_err(|e| store_error(e, &doing))?;
            // The columns in the order `stored_event` reads them.
            let row = sqlx::query(
                "SELECT e.position AS global_position, e.transaction_id::text AS transaction_id, e.event_id, \
                        e.sequence, e.event_type, e.schema_version, e.data, e.metadata, e.recorded_at, \
                        e.tenant_id, e.aggregate_type, e.aggregate_id \
                 FROM event_store.events e WHERE e.event_id = $1",
            )
            .bind(letter.event_id.as_uuid())
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| store_error(e, &doing))?
            .ok_or_else(|| corrupt(format!("parked event {} is not in the log", letter.event_id)))?;
            let event = crate::rows::stored_event(&row, None)?;
            match self.model.apply(&mut tx, vec![event], None).await {
                Ok(()) => {
                    sqlx::query("DELETE FROM projections.dead_letters WHERE projection = $1 AND event_id = $2")
                        .bind(name)
                        .bind(letter.event_id.as_uuid())
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| store_error(e, &doing))?;
                    sqlx::query(
                        "UPDATE projections.checkpoints SET events_applied = events_applied + 1, \
                             events_parked = greatest(events_parked - 1, 0) WHERE name = $1",
                    )
                    .bind(name)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| store_error(e, &doing))?;
                    tx.commit().await.map_err(|e| store_error(e, &doing))?;
                    replayed.applied += 1;
                }
                Err(BatchError::Event { error, .. }) => {
                    drop(tx);
                    sqlx::query(
                        "UPDATE projections.dead_letters SET error = $3, attempts = attempts + 1, \
                             parked_at = clock_timestamp() WHERE projection = $1 AND event_id = $2",
                    )
                    .bind(name)
                    .bind(letter.event_id.as_uuid())
                    .bind(&error)
                    .execute(&mut *conn)
                    .await
                    .map_err(|e| store_error(e, &doing))?;
                    replayed.still_failing += 1;
                }
                Err(BatchError::Storage(error)) => return Err(error),
            }
        }
        Ok(replayed)
    }

    /// The events this projection parked, oldest first.
    pub async fn dead_letters(&self) -> Result<Vec<DeadLetter>, StoreError> {
        let rows = sqlx::query(
            "SELECT event_id, event_type, transaction_id::text AS transaction_id, position, error, attempts, parked_at \
             FROM projections.dead_letters WHERE projection = $1 ORDER BY transaction_id, position",
        )
        .bind(self.model.name())
        .fetch_all(&self.pool)
        .await
        .map_err(|e| store_error(e, "listing dead letters"))?;
        rows.iter()
            .map(|row| {
                Ok(DeadLetter {
                    event_id: EventId::from(
                        row.try_get::<uuid::Uuid, _>("event_id").map_err(corrupt)?,
                    ),
                    event_type: row.try_get("event_type").map_err(corrupt)?,
                    position: log_position(
                        &row.try_get::<String, _>("transaction_id")
                            .map_err(corrupt)?,
                        row.try_get("position").map_err(corrupt)?,
                    )?,
                    error: row.try_get("error").map_err(corrupt)?,
                    attempts: u32::try_from(row.try_get::<i32, _>("attempts").map_err(corrupt)?)
                        .unwrap_or(0),
                    parked_at: row.try_get("parked_at").map_err(corrupt)?,
                })
            })
            .collect()
    }
}

/// Where a rebuild fills its table.
const REBUILD_SCHEMA: &str = "read_models_rebuild";
/// Where the replaced table goes for the moment of the swap.
const RETIRED_SCHEMA: &str = "read_models_retired";

fn version_param(version: u32) -> i32 {
    i32::try_from(version).unwrap_or(i32::MAX)
}

/// Creates the model's tables and indexes in `schema` if missing, readable by `acci_app`
/// and owned by the runners' group (so a standby logged in as another role can write,
/// rebuild and swap them). Runs inside the caller's transaction.
async fn create_tables<M: RunnerModel>(
    model: &M,
    conn: &mut PgConnection,
    schema: &str,
) -> Result<(), StoreError> {
    let doing = format!("creating the tables of `{}` in {schema}", model.name());
    conn.execute(format!("SET LOCAL search_path = {schema}").as_str())
        .await
        .map_err(|e| store_error(e, &doing))?;
    model.create(conn).await?;
    for table in model.tables() {
        let table = quoted(table);
        for statement in [
            format!("GRANT SELECT ON {table} TO {}", crate::APP_ROLE),
            format!("ALTER TABLE {table} OWNER TO {}", crate::ALL_TENANTS_ROLE),
        ] {
            conn.execute(statement.as_str())
                .await
                .map_err(|e| store_error(e, &doing))?;
        }
    }
    conn.execute("RESET search_path")
        .await
        .map_err(|e| store_error(e, &doing))?;
    Ok(())
}
