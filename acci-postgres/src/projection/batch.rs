//! One batch of a projection, applied exactly once: the rows it changes and the checkpoint
//! commit in one transaction, or nothing does.

use std::collections::{BTreeMap, HashMap};
use std::panic::{AssertUnwindSafe, catch_unwind};

use acci_core::{EventId, LogPosition, Projection, ReadAll, StoreError, StoredEvent, TenantScope};
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{Connection, PgConnection, Row};

use super::model::RunnerModel;
use super::statements::{key_object, statements};
use crate::error::store_error;
use crate::rows::{corrupt, log_position, to_i64};

/// What a committed batch did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BatchOutcome {
    /// Events applied to the read model.
    pub(crate) applied: u64,
    /// Events parked in the dead-letter table instead.
    pub(crate) parked: u64,
    /// Whether the log had nothing more: the runner may wait for a notification.
    pub(crate) caught_up: bool,
    /// Where the checkpoint stands now.
    pub(crate) checkpoint: LogPosition,
}

/// The rows a rebuild wrote, kept between its batches so they are not read back (the
/// side table it fills has no other writer). Bounded: past [`RowMemory::CAPACITY`] rows
/// it keeps what it has and reads the others as usual, so memory does not grow with the
/// log.
pub struct RowMemory<P: Projection> {
    /// `None`: the row is known not to exist.
    rows: BTreeMap<P::Key, Option<P>>,
}

impl<P: Projection> Default for RowMemory<P> {
    fn default() -> Self {
        Self {
            rows: BTreeMap::new(),
        }
    }
}

impl<P: Projection> std::fmt::Debug for RowMemory<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RowMemory")
            .field("rows", &self.rows.len())
            .finish()
    }
}

impl<P: Projection> RowMemory<P> {
    /// The most rows it keeps.
    pub const CAPACITY: usize = 10_000;

    fn keep(&mut self, key: &P::Key, row: &Option<P>) {
        if let Some(kept) = self.rows.get_mut(key) {
            kept.clone_from(row);
        } else if self.rows.len() < Self::CAPACITY {
            self.rows.insert(key.clone(), row.clone());
        }
    }
}

/// Why a batch did not commit: the storage failed (the runner tries the batch again), or
/// one event failed to project (the runner retries, then parks it, by its policy).
#[derive(Debug)]
pub enum BatchError {
    /// The database failed; the batch can run again.
    Storage(StoreError),
    /// One event failed to project (decode, key, or a panic in `project`); nothing of the
    /// batch was kept.
    Event {
        /// The event that failed.
        event_id: EventId,
        /// Why.
        error: String,
    },
}

impl From<StoreError> for BatchError {
    fn from(error: StoreError) -> Self {
        BatchError::Storage(error)
    }
}

/// Where a batch writes: the live table and checkpoint, or a rebuild beside them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Target<'a> {
    /// The schema the table is in.
    pub(crate) schema: &'a str,
    /// The name of the checkpoint row.
    pub(crate) checkpoint: &'a str,
}

/// Runs one batch of `model` into `target`. Events in `to_park` are written to the
/// dead-letter table with their error instead of being applied.
///
/// `checkpoint` is where the previous batch left the checkpoint, if this runner knows:
/// then it is not read again (the compare-and-set that moves it still catches another
/// runner that moved it meanwhile). `memory` is the rebuild's memory of rows.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn run_batch<M: RunnerModel>(
    model: &M,
    conn: &mut PgConnection,
    target: Target<'_>,
    batch_size: usize,
    to_park: &HashMap<EventId, (String, u32)>,
    skip_instead: bool,
    checkpoint: Option<LogPosition>,
    memory: Option<&mut M::Memory>,
) -> Result<BatchOutcome, BatchError> {
    let name = model.name();
    let doing = |what: &str| format!("projection `{name}`: {what}");
    // The generated SQL names the table unqualified: the search path picks the live one
    // or the rebuild. Sent with BEGIN, in the same round trip; the schema is one of two
    // constants, never user input.
    let mut tx = conn
        .begin_with(format!("BEGIN; SET LOCAL search_path = {}", target.schema))
        .await
        .map_err(|e| store_error(e, &doing("beginning a batch")))?;

    let after = match checkpoint {
        Some(known) => known,
        None => {
            let row = sqlx::query("SELECT transaction_id::text AS transaction_id, position FROM projections.checkpoints WHERE name = $1")
                .bind(target.checkpoint)
                .fetch_optional(&mut *tx)
                .await
                .map_err(|e| store_error(e, &doing("reading the checkpoint")))?
                .ok_or_else(|| corrupt(format!("projection `{name}` has no checkpoint; prepare it first")))?;
            log_position(
                &row.try_get::<String, _>("transaction_id")
                    .map_err(corrupt)?,
                row.try_get("position").map_err(corrupt)?,
            )?
        }
    };

    let request = ReadAll::new(TenantScope::AllTenants)
        .after(after)
        .limit(batch_size)
        .event_types(model.event_types().iter().copied());
    let batch = crate::store::read_log(&mut tx, &request).await?;
    let caught_up = batch.events.len() < batch_size;
    if batch.events.is_empty() {
        if batch.next > after {
            // Nothing to apply, but the horizon moved past filtered events: keep up, so a
            // caller waiting for a position of another event type gets there.
            save_checkpoint(name, &mut tx, target, after, batch.next, [0, 0, 0], None).await?;
            tx.commit()
                .await
                .map_err(|e| store_error(e, &doing("committing the checkpoint")))?;
        }
        return Ok(BatchOutcome {
            applied: 0,
            parked: 0,
            caught_up: true,
            checkpoint: batch.next.max(after),
        });
    }

    // Park (or skip) what failed before; the model applies the rest.
    let mut events = Vec::with_capacity(batch.events.len());
    let (mut parked, mut skipped) = (0, 0);
    let last_event_at = batch.events.last().map(|e| e.recorded_at);
    for stored in batch.events {
        match to_park.get(&stored.event_id) {
            Some((error, _)) if skip_instead => {
                tracing::warn!(projection = name, event_id = %stored.event_id, event_type = %stored.event_type,
                    error = %error, "skipping an event that does not project");
                skipped += 1;
            }
            Some((error, attempts)) => {
                park(name, &mut tx, &stored, error, *attempts).await?;
                parked += 1;
            }
            None => events.push(stored),
        }
    }
    let applied = events.len() as u64;
    model.apply(&mut tx, events, memory).await?;
    save_checkpoint(
        name,
        &mut tx,
        target,
        after,
        batch.next,
        [applied, parked, skipped],
        last_event_at,
    )
    .await?;
    tx.commit()
        .await
        .map_err(|e| store_error(e, &doing("committing a batch")))?;
    Ok(BatchOutcome {
        applied,
        parked,
        caught_up,
        checkpoint: batch.next,
    })
}

/// Applies the events of one batch to a `#[projection]` table: decodes them, loads every
/// touched row in one query, applies the events in log order, writes the rows back in one
/// statement and deletes the emptied ones in another.
/// With `memory`, rows it holds are not loaded, and the rows written are remembered.
pub(crate) async fn apply_to_table<P: Projection>(
    conn: &mut PgConnection,
    events: Vec<StoredEvent>,
    memory: Option<&mut RowMemory<P>>,
) -> Result<(), BatchError> {
    let mut work = Vec::with_capacity(events.len());
    for stored in events {
        let event_id = stored.event_id;
        let event = P::decode(stored).map_err(|e| BatchError::Event {
            event_id,
            error: e.to_string(),
        })?;
        let key = P::event_key(&event).map_err(|e| BatchError::Event {
            event_id,
            error: e.to_string(),
        })?;
        work.push((event_id, key, event));
    }
    let mut rows: BTreeMap<P::Key, (bool, Option<P>)> = BTreeMap::new();
    let mut unknown: BTreeMap<P::Key, (bool, Option<P>)> = BTreeMap::new();
    for (_, key, _) in &work {
        if rows.contains_key(key) || unknown.contains_key(key) {
            continue;
        }
        match memory.as_deref().and_then(|m| m.rows.get(key)) {
            Some(kept) => rows.insert(key.clone(), (kept.is_some(), kept.clone())),
            None => unknown.insert(key.clone(), (false, None)),
        };
    }
    if !unknown.is_empty() {
        load_rows::<P>(conn, &mut unknown).await?;
        rows.append(&mut unknown);
    }
    for (event_id, key, event) in &work {
        let (_, row) = rows.get_mut(key).expect("every key was entered above");
        // `project` is user code: a panic fails this event, not the runner.
        catch_unwind(AssertUnwindSafe(|| P::project_event(row, event))).map_err(|panic| {
            BatchError::Event {
                event_id: *event_id,
                error: format!("`project` panicked: {}", panic_message(&panic)),
            }
        })?;
    }
    if let Some(memory) = memory {
        for (key, (_, row)) in &rows {
            memory.keep(key, row);
        }
    }
    write_rows::<P>(conn, rows).await
}

async fn load_rows<P: Projection>(
    conn: &mut PgConnection,
    rows: &mut BTreeMap<P::Key, (bool, Option<P>)>,
) -> Result<(), BatchError> {
    let keys = rows
        .keys()
        .map(key_object::<P>)
        .collect::<Result<Vec<_>, _>>()
        .map_err(corrupt)?;
    let select = statements::<P>().map_err(corrupt)?.select_by_keys.as_str();
    let found: Vec<Value> = sqlx::query_scalar(select)
        .bind(Value::Array(keys))
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| store_error(e, &format!("projection `{}`: loading rows", P::NAME)))?;
    for json in found {
        let row: P = serde_json::from_value(json).map_err(|e| {
            corrupt(format!(
                "a row of `{}` does not match its struct: {e}",
                P::NAME
            ))
        })?;
        rows.insert(row.row_key(), (true, Some(row)));
    }
    Ok(())
}

async fn write_rows<P: Projection>(
    conn: &mut PgConnection,
    rows: BTreeMap<P::Key, (bool, Option<P>)>,
) -> Result<(), BatchError> {
    let table = statements::<P>().map_err(corrupt)?;
    let mut upserts = Vec::new();
    let mut deletes = Vec::new();
    for (key, (existed, row)) in rows {
        match row {
            Some(row) => upserts.push(
                serde_json::to_value(&row)
                    .map_err(|e| corrupt(format!("a row of `{}`: {e}", P::NAME)))?,
            ),
            None if existed => deletes.push(key_object::<P>(&key).map_err(corrupt)?),
            None => {}
        }
    }
    if !upserts.is_empty() {
        sqlx::query(&table.upsert)
            .bind(Value::Array(upserts))
            .execute(&mut *conn)
            .await
            .map_err(|e| store_error(e, &format!("projection `{}`: writing rows", P::NAME)))?;
    }
    if !deletes.is_empty() {
        sqlx::query(&table.delete_by_keys)
            .bind(Value::Array(deletes))
            .execute(&mut *conn)
            .await
            .map_err(|e| store_error(e, &format!("projection `{}`: deleting rows", P::NAME)))?;
    }
    Ok(())
}

/// Moves the checkpoint from `from` to `to`, only if it is still at `from`: a second
/// runner that got here first makes this batch roll back instead of counting twice.
#[allow(clippy::too_many_arguments)]
async fn save_checkpoint(
    name: &str,
    conn: &mut PgConnection,
    target: Target<'_>,
    from: LogPosition,
    to: LogPosition,
    [applied, parked, skipped]: [u64; 3],
    last_event_at: Option<DateTime<Utc>>,
) -> Result<(), BatchError> {
    let moved = sqlx::query(
        "UPDATE projections.checkpoints \
         SET transaction_id = $2::text::xid8, position = $3, events_applied = events_applied + $4, \
             events_parked = events_parked + $5, events_skipped = events_skipped + $9, \
             last_event_at = coalesce($6, last_event_at), \
             last_error = NULL, updated_at = clock_timestamp() \
         WHERE name = $1 AND transaction_id = $7::text::xid8 AND position = $8",
    )
    .bind(target.checkpoint)
    .bind(to.commit.to_string())
    .bind(to_i64(to.position, "log position")?)
    .bind(to_i64(applied, "events applied")?)
    .bind(to_i64(parked, "events parked")?)
    .bind(last_event_at)
    .bind(from.commit.to_string())
    .bind(to_i64(from.position, "log position")?)
    .bind(to_i64(skipped, "events skipped")?)
    .execute(&mut *conn)
    .await
    .map_err(|e| store_error(e, &format!("projection `{name}`: saving the checkpoint")))?;
    if moved.rows_affected() != 1 {
        return Err(BatchError::Storage(StoreError::Backend {
            message: format!(
                "projection `{}`: another runner moved the checkpoint; this batch is dropped",
                name
            ),
            retryable: true,
            source: None,
        }));
    }
    Ok(())
}

pub(crate) async fn park(
    name: &str,
    conn: &mut PgConnection,
    event: &StoredEvent,
    error: &str,
    attempts: u32,
) -> Result<(), BatchError> {
    tracing::warn!(projection = name, event_id = %event.event_id, event_type = %event.event_type, error,
        "parking an event that does not project");
    sqlx::query(
        "INSERT INTO projections.dead_letters \
             (projection, event_id, tenant_id, aggregate_type, aggregate_id, sequence, transaction_id, position, \
              event_type, error, attempts) \
         VALUES ($1, $2, $3, $4, $5, $6, $7::text::xid8, $8, $9, $10, $11) \
         ON CONFLICT (projection, event_id) DO UPDATE SET error = EXCLUDED.error, attempts = EXCLUDED.attempts, \
             parked_at = clock_timestamp()",
    )
    .bind(name)
    .bind(event.event_id.as_uuid())
    .bind(event.stream.tenant.as_str())
    .bind(&*event.stream.aggregate_type)
    .bind(event.stream.aggregate_id.as_str())
    .bind(to_i64(event.sequence, "sequence")?)
    .bind(event.position.commit.to_string())
    .bind(to_i64(event.position.position, "log position")?)
    .bind(&event.event_type)
    .bind(error)
    .bind(i32::try_from(attempts).unwrap_or(i32::MAX))
    .execute(&mut *conn)
    .await
    .map_err(|e| store_error(e, &format!("projection `{name}`: parking an event")))?;
    Ok(())
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-text panic".to_owned())
}
