//! What a runner keeps current: a `#[projection]` table, or a hand-written projection.

use std::marker::PhantomData;

use acci_core::projection::RowChange;
use acci_core::{EventKind, Projection, StoreError, StoredEvent};
use async_trait::async_trait;
use sqlx::{Executor, PgConnection};

use super::batch::{RowMemory, apply_to_table, catch_panic};
use super::error::{BatchError, EventFailure, HandleError};
use super::statements::statements;
use crate::error::store_error;
use crate::rows::corrupt;

/// A read model the [`Runner`](super::Runner) can keep current: implemented for
/// [`Table<P>`] (a `#[projection]`) and [`Custom<C>`] (a [`CustomProjection`]).
///
/// Its tables are named unqualified: the runner points `search_path` at the live schema
/// or at the schema of a rebuild beside it.
#[async_trait]
pub trait RunnerModel: Send + Sync + 'static {
    /// The projection's name: the key of its checkpoint and its locks.
    fn name(&self) -> &'static str;
    /// Its version; a different one in the database rebuilds it.
    fn version(&self) -> u32;
    /// The events it reads, by aggregate type and event type.
    fn events(&self) -> &'static [EventKind];
    /// The tables it owns, unqualified, which a rebuild swaps in.
    fn tables(&self) -> Vec<&'static str>;
    /// Those of its tables whose rows carry a `tenant_id` column: the runner puts them
    /// under row-level security, so a reader sees only its tenant's rows. None unless
    /// said: a hand-written projection's tables are its own.
    fn tenant_tables(&self) -> Vec<&'static str> {
        Vec::new()
    }
    /// Creates its tables and indexes if missing, in the schema `search_path` points at.
    async fn create(&self, conn: &mut PgConnection) -> Result<(), StoreError>;
    /// What a rebuild may keep in memory between its batches: the side table it fills
    /// has no other writer, so what it wrote need not be read back.
    type Memory: Default + Send;
    /// Applies one batch of events, in log order, inside the batch's transaction. An error
    /// fails the whole batch: nothing of it is kept. `memory` is given only while nothing
    /// else writes the tables; the runner drops it whenever a batch does not commit.
    /// `written`, when given, receives the rows of a `#[projection]` table the batch
    /// upserted or deleted (a hand-written projection's rows are its own: it adds none).
    async fn apply(
        &self,
        conn: &mut PgConnection,
        events: Vec<StoredEvent>,
        memory: Option<&mut Self::Memory>,
        written: Option<&mut Vec<RowChange>>,
    ) -> Result<(), BatchError>;
}

/// A `#[projection]` read model: one table whose SQL the macro generated.
#[derive(Debug)]
pub struct Table<P>(PhantomData<fn() -> P>);

impl<P> Default for Table<P> {
    fn default() -> Self {
        Table(PhantomData)
    }
}

#[async_trait]
impl<P: Projection> RunnerModel for Table<P> {
    fn name(&self) -> &'static str {
        P::NAME
    }

    fn version(&self) -> u32 {
        P::VERSION
    }

    fn events(&self) -> &'static [EventKind] {
        P::EVENTS
    }

    fn tables(&self) -> Vec<&'static str> {
        vec![P::TABLE.name]
    }

    fn tenant_tables(&self) -> Vec<&'static str> {
        if P::TABLE.is_tenant_scoped() {
            vec![P::TABLE.name]
        } else {
            Vec::new()
        }
    }

    async fn create(&self, conn: &mut PgConnection) -> Result<(), StoreError> {
        let sql = statements::<P>().map_err(corrupt)?;
        let doing = format!("creating the table of `{}`", P::NAME);
        conn.execute(sql.create_table.as_str())
            .await
            .map_err(|e| store_error(e, &doing))?;
        for index in &sql.create_indexes {
            conn.execute(index.as_str())
                .await
                .map_err(|e| store_error(e, &doing))?;
        }
        Ok(())
    }

    type Memory = RowMemory<P>;

    async fn apply(
        &self,
        conn: &mut PgConnection,
        events: Vec<StoredEvent>,
        memory: Option<&mut RowMemory<P>>,
        written: Option<&mut Vec<RowChange>>,
    ) -> Result<(), BatchError> {
        apply_to_table::<P>(conn, events, memory, written).await
    }
}

/// A hand-written projection, for read models `#[projection]` does not fit: several
/// tables, aggregates kept in SQL, rows of another shape per event.
///
/// It gets each event with the batch's transaction, and the runner's guarantees hold as
/// for a `#[projection]`: what it writes in that transaction commits together with the
/// checkpoint, exactly once; a failing event is retried and parked by the runner's
/// policy; a new [`VERSION`](CustomProjection::VERSION) rebuilds it beside the live
/// tables and swaps them in. Name its tables unqualified (the runner sets `search_path`
/// to the live schema or to the rebuild's) and list them in
/// [`TABLES`](CustomProjection::TABLES). Effects outside the database (an e-mail, a
/// message) are not part of the transaction: they may repeat after a crash.
///
/// ```ignore
/// struct DailyTotals;
///
/// #[async_trait::async_trait]
/// impl CustomProjection for DailyTotals {
///     const NAME: &'static str = "daily_totals";
///     const VERSION: u32 = 1;
///     const EVENTS: &'static [EventKind] = &[EventKind::new("BankAccount", "Deposited")];
///     const TABLES: &'static [&'static str] = &["daily_totals"];
///
///     async fn setup(&self, tx: &mut PgConnection) -> Result<(), sqlx::Error> {
///         sqlx::query("CREATE TABLE IF NOT EXISTS daily_totals (day date PRIMARY KEY, total bigint NOT NULL)")
///             .execute(&mut *tx).await.map(|_| ())
///     }
///
///     async fn handle(&self, event: &StoredEvent, tx: &mut PgConnection) -> Result<(), HandleError> {
///         sqlx::query("INSERT INTO daily_totals VALUES ($1::date, $2) \
///                      ON CONFLICT (day) DO UPDATE SET total = daily_totals.total + EXCLUDED.total")
///             .bind(event.recorded_at.date_naive())
///             .bind(event.data["amount"].as_i64().unwrap_or(0))
///             .execute(&mut *tx).await?;
///         Ok(())
///     }
/// }
/// ```
#[async_trait]
pub trait CustomProjection: Send + Sync + 'static {
    /// The projection's name: the key of its checkpoint.
    const NAME: &'static str;
    /// Its version; change it to rebuild.
    const VERSION: u32;
    /// The events it reads, by aggregate type and event type
    /// ([`EventKind::of`], [`EventKind::new`]).
    const EVENTS: &'static [EventKind];
    /// Every table it writes, unqualified.
    const TABLES: &'static [&'static str];

    /// Creates its tables if missing (`CREATE TABLE IF NOT EXISTS`, unqualified names).
    async fn setup(&self, tx: &mut PgConnection) -> Result<(), sqlx::Error>;

    /// Applies one event inside the batch's transaction. A database error the data caused
    /// (SQLSTATE class `22` or `23`, or `P0001`: a division by zero, a constraint, an
    /// exception raised on purpose) and the errors of your own are the event's, and count
    /// toward the failure policy. Any other database error is a storage failure, never
    /// counted against the event: one that may pass when tried again (a lost connection,
    /// a serialization failure) is retried; one that fails every event alike (a revoked
    /// right, a missing table, a syntax error) is retried with a growing wait and shows
    /// in the status as `failing` until it is fixed.
    async fn handle(&self, event: &StoredEvent, tx: &mut PgConnection) -> Result<(), HandleError>;
}

/// A [`CustomProjection`] as the runner keeps it.
#[derive(Debug)]
pub struct Custom<C>(pub C);

#[async_trait]
impl<C: CustomProjection> RunnerModel for Custom<C> {
    fn name(&self) -> &'static str {
        C::NAME
    }

    fn version(&self) -> u32 {
        C::VERSION
    }

    fn events(&self) -> &'static [EventKind] {
        C::EVENTS
    }

    fn tables(&self) -> Vec<&'static str> {
        C::TABLES.to_vec()
    }

    async fn create(&self, conn: &mut PgConnection) -> Result<(), StoreError> {
        self.0
            .setup(conn)
            .await
            .map_err(|e| store_error(e, &format!("setting up projection `{}`", C::NAME)))
    }

    /// A hand-written projection's writes are its own: nothing is kept.
    type Memory = ();

    async fn apply(
        &self,
        conn: &mut PgConnection,
        events: Vec<StoredEvent>,
        _memory: Option<&mut ()>,
        _written: Option<&mut Vec<RowChange>>,
    ) -> Result<(), BatchError> {
        for event in &events {
            catch_panic(self.0.handle(event, conn))
                .await
                .map_err(|panic| BatchError::Event {
                    event_id: event.event_id,
                    position: event.position,
                    error: EventFailure::Panicked(panic),
                })?
                .map_err(|e| {
                    BatchError::from_handler(event, e, &format!("projection `{}`", C::NAME))
                })?;
        }
        Ok(())
    }
}
