//! [`PgEventStore`]: the [`EventStore`] on PostgreSQL.

mod append;
mod batch;
mod command;
mod group;
mod load;

pub use group::GroupCommit;

pub(crate) use load::{event_filter, read_log_to_unreadable};

/// The start of a `FROM` clause that binds the statement's transaction to the tenant `$1`
/// before the function after it runs: `FROM {BIND_TENANT} event_store.f(t.tenant, …)`.
/// The function's tenant is `set_config`'s result, so the setting is made first, in the
/// same statement (no extra round trip), and lasts to the end of the transaction. Every
/// store function checks it (`event_store.require_tenant`).
pub(crate) const BIND_TENANT: &str =
    "pg_catalog.set_config('acci.tenant_id', $1, true) AS t(tenant) CROSS JOIN LATERAL";

/// Like [`BIND_TENANT`], for reading every tenant's log: sets `acci.all_tenants`, and
/// `t.switch` is `'on'` (`nullif(t.switch, 'on')` is the NULL tenant that depends on it).
pub(crate) const BIND_ALL_TENANTS: &str =
    "pg_catalog.set_config('acci.all_tenants', 'on', true) AS t(switch) CROSS JOIN LATERAL";

use acci_core::{
    AggregateLoad, AppendOutcome, CommandId, CommandRecord, EventStore, ExpectedVersion, LogBatch,
    NewEvent, ReadAll, Snapshot, StoreError, StoredEvent, StreamId, TenantBound, TenantId,
    ValidationError,
};
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, Executor, PgConnection, PgPool, Row};
use tokio::sync::mpsc;

use crate::error::store_error;

/// An event store in PostgreSQL.
///
/// Every operation is one round trip and one statement, scoped to the tenant it names.
/// That statement binds its transaction to the tenant (`acci.tenant_id`) and either calls
/// a SQL function [`migrate`](Self::migrate) installs, which serves only the bound tenant,
/// or, for the two loads of one stream, reads the tables itself: the functions for one
/// stream run with their owner's rights, are the only way to write events, command
/// records and snapshots, and name the tenant in each query; the loads and the global
/// log's function run with the caller's rights, under row-level security, the loads
/// naming the tenant in each read as well. Connect
/// as a role that is a member of `acci_app` and does not bypass row-level security (see
/// `docs/postgres.md`); reading every tenant's log (`TenantScope::AllTenants`) also
/// needs `acci_all_tenants`.
///
/// This store serves whichever tenant each call names: it is for code that works for
/// every tenant (projection runners, migrations of data). Code that serves one tenant's
/// request holds [`for_tenant`](Self::for_tenant) instead, which refuses a call for any
/// other tenant before it sends anything (see `docs/security.md`).
///
/// Errors that a retry may cure (a lost connection, a restarting server) come back as
/// [`StoreError::Backend`] with `retryable` set; the pool replaces broken connections by
/// itself. An append that failed that way may or may not have committed: send the command
/// again with the same command id to be sure it applies once.
///
/// Concurrent appends are grouped: while another append of the store is in flight, an
/// append waits for the next batch, which carries many appends in one call and one
/// transaction, each with its own outcome (on by default; see
/// [`with_group_commit`](Self::with_group_commit)).
#[derive(Debug, Clone)]
pub struct PgEventStore {
    pool: PgPool,
    /// Wakes the task that tells projection runners new events were appended.
    notifier: Arc<OnceLock<mpsc::Sender<()>>>,
    /// The group commit's queue, shared by the store's clones; `None` when it is off.
    group: Option<Arc<group::Group>>,
}

impl PgEventStore {
    /// Connects a pool of up to 16 connections to `url`, with [`pool_options`](Self::pool_options).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let pool = Self::pool_options()
            .max_connections(16)
            .connect(url)
            .await
            .map_err(|e| store_error(e, "connecting to PostgreSQL"))?;
        Ok(Self::from_pool(pool))
    }

    /// The pool settings the store is measured with; start from these for a pool given to
    /// [`from_pool`](Self::from_pool).
    ///
    /// By default sqlx pings every connection it takes from the pool: one more round trip
    /// per store call, a fifth of a short command's time. These settings ping only a
    /// connection that sat idle longer than [`PING_IDLE_AFTER`], where a dropped
    /// connection is likely (a server restart, a firewall's timeout), and replace it if it
    /// is dead. A connection that breaks while in use fails its call with a retryable
    /// [`StoreError::Backend`], as it would with the ping.
    ///
    /// Each new connection sets `default_transaction_isolation` to `read committed`
    /// once, whatever the server's or the role's default: the store's statements run
    /// there, so racing appends come back as [`StoreError::Conflict`] on a server whose
    /// default is `serializable` too. A transaction the caller opens itself at a stricter
    /// level is still refused by `append` (see `docs/postgres.md`).
    pub fn pool_options() -> PgPoolOptions {
        PgPoolOptions::new()
            .after_connect(|conn, _meta| {
                Box::pin(async move {
                    conn.execute(READ_COMMITTED).await?;
                    Ok(())
                })
            })
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for > PING_IDLE_AFTER {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            })
    }

    /// Uses an existing pool. Best made from [`pool_options`](Self::pool_options), whose
    /// connections run the store's statements at READ COMMITTED: from here on, the pool
    /// opens its new connections so too, but a connection it opened before keeps its
    /// server's default, and under REPEATABLE READ or SERIALIZABLE an append on it is
    /// refused with a non-retryable [`StoreError::Backend`].
    pub fn from_pool(pool: PgPool) -> Self {
        pool.set_connect_options(
            pool.connect_options()
                .as_ref()
                .clone()
                // A space in a startup option is escaped with a backslash.
                .options([("default_transaction_isolation", r"read\ committed")]),
        );
        Self {
            pool,
            notifier: Arc::new(OnceLock::new()),
            group: Some(Arc::new(group::Group::new(GroupCommit::default()))),
        }
    }

    /// This store with group commit on `options`, refused before any I/O if
    /// [`GroupCommit::validate`] refuses them.
    ///
    /// Group commit is on by default, with [`GroupCommit::default`]. An append runs at
    /// once while fewer than [`max_in_flight`](GroupCommit::max_in_flight) appends of
    /// the store are in flight; past that it queues, and when a call ends the queued
    /// appends of one tenant (up to [`max_batch`](GroupCommit::max_batch)) go as one call
    /// and one transaction, each with its own expected-version check, command id and
    /// outcome. A lone client never waits. If the batch call fails as a whole, each of
    /// its appends is sent again alone, so each gets its own answer. See
    /// `docs/postgres.md`, "Group commit".
    ///
    /// The returned store (and its clones) has a queue of its own: clones made before
    /// keep the old one.
    pub fn with_group_commit(mut self, options: GroupCommit) -> Result<Self, ValidationError> {
        options.validate()?;
        self.group = Some(Arc::new(group::Group::new(options)));
        Ok(self)
    }

    /// This store with group commit off: every append is a call of its own.
    pub fn without_group_commit(mut self) -> Self {
        self.group = None;
        self
    }

    /// The group commit's options, or `None` when it is off.
    pub fn group_commit(&self) -> Option<GroupCommit> {
        self.group.as_ref().map(|group| group.options())
    }

    /// Tells listening projection runners that events were appended.
    ///
    /// Not from inside the append: a transaction that sends NOTIFY holds a server-wide
    /// lock while it commits, which would make every append on the server commit one at
    /// a time. A task of its own sends the notification after the commit instead, and
    /// coalesces: at most one notification per [`NOTIFY_INTERVAL`], however many appends
    /// there were. It keeps a connection of its own, outside the pool, so notifying
    /// never makes a command wait for a pooled connection. Runners poll as well, so a
    /// lost notification only delays them.
    fn notify_appended(&self) {
        let sender = self.notifier.get_or_init(|| {
            let (sender, mut wake) = mpsc::channel::<()>(1);
            let options = self.pool.connect_options();
            tokio::spawn(async move {
                let mut conn: Option<PgConnection> = None;
                // Ends when the last clone of the store is dropped.
                while wake.recv().await.is_some() {
                    if conn.is_none() {
                        match PgConnection::connect_with(&options).await {
                            Ok(connected) => conn = Some(connected),
                            Err(error) => tracing::debug!(%error, "could not connect to notify projection runners; they will poll"),
                        }
                    }
                    if let Some(connected) = conn.as_mut() {
                        let sent = sqlx::query("SELECT pg_notify($1, '')")
                            .bind(crate::projection::EVENTS_CHANNEL)
                            .execute(connected)
                            .await;
                        if let Err(error) = sent {
                            tracing::debug!(%error, "could not notify projection runners; they will poll");
                            conn = None;
                        }
                    }
                    // At most one notification per interval: a burst of appends costs one.
                    tokio::time::sleep(NOTIFY_INTERVAL).await;
                }
            });
            sender
        });
        let _ = sender.try_send(());
    }

    /// This store bound to `tenant`: a call for another tenant, or for every tenant, fails
    /// with [`StoreError::WrongTenant`] before any I/O. The store a request handler of
    /// `tenant` holds.
    pub fn for_tenant(&self, tenant: TenantId) -> TenantBound<PgEventStore> {
        TenantBound::new(self.clone(), tenant)
    }

    /// The pool underneath.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Applies the embedded migrations ([`MIGRATIONS`](crate::MIGRATIONS)) this database
    /// does not have yet, then every SQL function ([`FUNCTIONS`](crate::FUNCTIONS)) whose
    /// text is new or changed since it was last applied. Idempotent, and safe when several
    /// processes call it at once. Needs a role that may create schemas, tables and roles:
    /// run it as the database owner, not as the application role. The functions that run
    /// with their owner's rights run with this role's.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        crate::migrate::migrate(&self.pool, crate::MIGRATIONS, crate::FUNCTIONS).await
    }

    /// [`migrate`](Self::migrate) with other migrations and functions: for tests that play
    /// one release after another.
    #[doc(hidden)]
    pub async fn migrate_with(
        &self,
        migrations: &[crate::Migration],
        functions: &[crate::SqlFunction],
    ) -> Result<(), StoreError> {
        crate::migrate::migrate(&self.pool, migrations, functions).await
    }
}

/// What every connection of [`PgEventStore::pool_options`] runs once, when it connects.
const READ_COMMITTED: &str = "SET default_transaction_isolation = 'read committed'";

/// A pooled connection idle longer than this is pinged before use; see
/// [`PgEventStore::pool_options`].
pub const PING_IDLE_AFTER: std::time::Duration = std::time::Duration::from_secs(1);

/// The shortest time between two notifications to projection runners.
pub const NOTIFY_INTERVAL: std::time::Duration = std::time::Duration::from_millis(5);

/// The transaction that holds the global log back: the oldest one on the server that has a
/// transaction id and is still running. See [`PgEventStore::log_horizon_holder`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HorizonHolder {
    /// The backend's process id (`pg_terminate_backend` takes it).
    pub pid: i32,
    /// The database it is connected to; any database of the server holds the log back.
    pub database: Option<String>,
    /// The role it runs as.
    pub user: Option<String>,
    /// Its `application_name`.
    pub application: Option<String>,
    /// When its transaction began.
    pub transaction_started: Option<chrono::DateTime<chrono::Utc>>,
    /// `active`, `idle in transaction`, …
    pub state: Option<String>,
}

impl PgEventStore {
    /// Who delays readers of the global log right now, if anyone.
    ///
    /// Readers stop before the oldest transaction that is still running anywhere on the
    /// server, so one long transaction (a forgotten `BEGIN` in a console, a long batch job)
    /// makes every reader lag — never lose events — until it ends. This names it. Seeing
    /// other roles' sessions needs `pg_read_all_stats` (or a superuser); without it,
    /// only the caller's own sessions are visible.
    pub async fn log_horizon_holder(&self) -> Result<Option<HorizonHolder>, StoreError> {
        let row = sqlx::query(include_str!("../../sql/store/log_horizon_holder.sql"))
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| store_error(e, "looking up the oldest open transaction"))?;
        let Some(row) = row else { return Ok(None) };
        let get = |name: &str| {
            row.try_get::<Option<String>, _>(name)
                .map_err(crate::rows::corrupt)
        };
        Ok(Some(HorizonHolder {
            pid: row.try_get("pid").map_err(crate::rows::corrupt)?,
            database: get("database")?,
            user: get("username")?,
            application: get("application_name")?,
            transaction_started: row.try_get("xact_start").map_err(crate::rows::corrupt)?,
            state: get("state")?,
        }))
    }
}

#[async_trait]
impl EventStore for PgEventStore {
    async fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
        command_id: Option<CommandId>,
    ) -> Result<AppendOutcome, StoreError> {
        let request = append::Request::new(stream, expected, events, command_id)?;
        let outcome = match &self.group {
            Some(group) => group.append(&self.pool, request).await?,
            None => {
                group::record_batch_size(1);
                append::append_one(&self.pool, &request).await?
            }
        };
        if matches!(outcome, AppendOutcome::Appended(_)) {
            self.notify_appended();
        }
        Ok(outcome)
    }

    async fn load(
        &self,
        stream: &StreamId,
        from_sequence: u64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        load::load_range(&self.pool, stream, from_sequence, u64::MAX).await
    }

    async fn load_range(
        &self,
        stream: &StreamId,
        first: u64,
        last: u64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        load::load_range(&self.pool, stream, first, last).await
    }

    async fn load_aggregate(
        &self,
        stream: &StreamId,
        state_version: Option<u64>,
    ) -> Result<AggregateLoad, StoreError> {
        load::load_aggregate(&self.pool, stream, state_version).await
    }

    async fn read_all(&self, request: &ReadAll) -> Result<LogBatch, StoreError> {
        // Before the pool: an invalid request is a validation error even when the
        // database is unreachable, never a retryable one.
        acci_core::validate_read(request)?;
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(|e| store_error(e, "acquiring a connection"))?;
        load::read_log(&mut conn, request).await
    }

    async fn save_snapshot(&self, stream: &StreamId, snapshot: Snapshot) -> Result<(), StoreError> {
        load::save_snapshot(&self.pool, stream, snapshot).await
    }

    async fn load_snapshot(&self, stream: &StreamId) -> Result<Option<Snapshot>, StoreError> {
        load::load_snapshot(&self.pool, stream).await
    }

    async fn find_command(
        &self,
        tenant: &TenantId,
        command_id: CommandId,
    ) -> Result<Option<CommandRecord>, StoreError> {
        command::find_command(&self.pool, tenant, command_id).await
    }
}
