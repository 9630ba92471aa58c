//! [`PgEventStore`]: the [`EventStore`] on PostgreSQL.

mod append;
mod load;

use acci_core::{
    AppendOutcome, CommandId, CommandRecord, EventStore, ExpectedVersion, LogBatch, NewEvent,
    ReadAll, Snapshot, StoreError, StoredEvent, StreamId, TenantId,
};
use async_trait::async_trait;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use crate::error::store_error;

/// An event store in PostgreSQL.
///
/// Every operation is one call of a function the migrations install, so one round trip
/// and one statement: the function sets the tenant for its own transaction, and
/// row-level security keeps every query to that tenant. Connect as a role that is a
/// member of `acci_app` and does not bypass row-level security (see `docs/postgres.md`);
/// reading every tenant's log (`TenantScope::AllTenants`) also needs `acci_all_tenants`.
///
/// Errors that a retry may cure (a lost connection, a restarting server) come back as
/// [`StoreError::Backend`] with `retryable` set; the pool replaces broken connections by
/// itself. An append that failed that way may or may not have committed: send the command
/// again with the same command id to be sure it applies once.
#[derive(Debug, Clone)]
pub struct PgEventStore {
    pool: PgPool,
}

impl PgEventStore {
    /// Connects a pool of up to 16 connections to `url`.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .connect(url)
            .await
            .map_err(|e| store_error(e, "connecting to PostgreSQL"))?;
        Ok(Self::from_pool(pool))
    }

    /// Uses an existing pool.
    pub fn from_pool(pool: PgPool) -> Self {
        Self { pool }
    }

    /// The pool underneath.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Applies the embedded migrations this database does not have yet. Idempotent, and
    /// safe when several processes call it at once. Needs a role that may create schemas,
    /// tables and roles: run it as the database owner, not as the application role.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        crate::migrate::migrate(&self.pool).await
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
        append::append(&self.pool, stream, expected, events, command_id).await
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

    async fn read_all(&self, request: &ReadAll) -> Result<LogBatch, StoreError> {
        load::read_log(&self.pool, request).await
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
        append::find_command(&self.pool, tenant, command_id).await
    }
}
