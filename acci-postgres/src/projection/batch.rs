//! One batch of a projection, applied exactly once: the rows it changes and the checkpoint
//! commit in one transaction, or nothing does.

use std::collections::BTreeMap;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::task::Poll;

use acci_core::projection::{RowChange, row_tenant};
use acci_core::{
    EventId, LogPosition, Projection, ProjectionError, ReadAll, StoreError, StoredEvent, TenantId,
    TenantScope,
};
use serde_json::Value;
use sqlx::{Connection, PgConnection};

use super::checkpoint::{Advance, Checkpoint, Counts};
use super::dead_letters::park;
use super::error::{BatchError, EventFailure, is_data_error};
use super::model::RunnerModel;
use super::options::FailurePolicy;
use super::runner::Failures;
use super::statements::{key_object, row_object, split_row, statements};
use super::unreadable::{Unreadable, set_aside_unreadable};
use crate::error::store_error;
use crate::rows::corrupt;

/// What a committed batch did.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BatchOutcome {
    /// Events applied to the read model, parked and skipped instead.
    pub(crate) counts: Counts,
    /// The events it parked or skipped: their failures are settled.
    pub(crate) set_aside: Vec<EventId>,
    /// Whether the log had nothing more: the runner may wait for a notification.
    pub(crate) caught_up: bool,
    /// Where the checkpoint stands now.
    pub(crate) checkpoint: LogPosition,
    /// The rows it wrote, if the context asked for them.
    pub(crate) written: Vec<RowChange>,
}

/// The rows a rebuild wrote, kept between its batches so they are not read back (the
/// side table it fills has no other writer). Bounded: past [`RowMemory::CAPACITY`] rows
/// it keeps what it has and reads the others as usual, so memory does not grow with the
/// log.
pub struct RowMemory<P: Projection> {
    /// `None`: the row is known not to exist.
    rows: BTreeMap<RowId<P>, Option<P>>,
}

/// A row's place: its tenant (`None` in a global read model) and its key.
type RowId<P> = (Option<TenantId>, <P as Projection>::Key);

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

    fn keep(&mut self, key: &RowId<P>, row: &Option<P>) {
        if let Some(kept) = self.rows.get_mut(key) {
            kept.clone_from(row);
        } else if self.rows.len() < Self::CAPACITY {
            self.rows.insert(key.clone(), row.clone());
        }
    }
}

/// What one batch works with.
pub(crate) struct BatchContext<'a, M> {
    /// The read model.
    pub(crate) model: &'a M,
    /// The schema its tables are in: the live one, or a rebuild's.
    pub(crate) schema: &'static str,
    /// The checkpoint it moves.
    pub(crate) checkpoint: Checkpoint,
    /// Events per batch.
    pub(crate) batch_size: usize,
    /// Events that failed before; those due under `policy` are set aside, not applied.
    pub(crate) failures: &'a Failures,
    /// The failure policy: parks, or skips under [`FailurePolicy::Skip`].
    pub(crate) policy: FailurePolicy,
    /// Where the previous batch left the checkpoint, if this runner knows: then it is
    /// not read again (the compare-and-set that moves it still catches another runner
    /// that moved it meanwhile).
    pub(crate) known: Option<LogPosition>,
    /// Whether to collect the rows the batch writes, for the runner's observer.
    pub(crate) written: bool,
}

/// Runs one batch of `context.model`. `memory` is the rebuild's memory of rows.
pub(crate) async fn run_batch<M: RunnerModel>(
    context: &BatchContext<'_, M>,
    conn: &mut PgConnection,
    memory: Option<&mut M::Memory>,
) -> Result<BatchOutcome, BatchError> {
    let name = context.model.name();
    let doing = |what: &str| format!("projection `{name}`: {what}");
    // The generated SQL names the table unqualified: the search path picks the live one
    // or the rebuild. Sent with BEGIN, in the same round trip; the schema is one of two
    // constants, never user input.
    let mut tx = conn
        .begin_with(format!("BEGIN; SET LOCAL search_path = {}", context.schema))
        .await
        .map_err(|e| store_error(e, &doing("beginning a batch")))?;

    let after = match context.known {
        Some(known) => known,
        None => context.checkpoint.read_prepared(&mut *tx).await?.position,
    };

    let request = ReadAll::new(TenantScope::AllTenants)
        .after(after)
        .limit(context.batch_size)
        .events(context.model.events().iter().cloned());
    let (batch, stopped) = match crate::store::read_log_to_unreadable(&mut tx, &request).await {
        Ok(read) => read,
        // The next event cannot be read at all (the events before it came back in the
        // previous batch): a failure of that event, under the policy like any other.
        Err(StoreError::Unreadable {
            event_id,
            position,
            reason,
        }) => {
            let unreadable = Unreadable {
                event_id,
                position,
                reason,
            };
            return set_aside_unreadable(context, tx, after, unreadable).await;
        }
        Err(error) => return Err(error.into()),
    };
    crate::observability::batch_read(after, &batch);
    let caught_up = batch.events.len() < context.batch_size && !stopped;
    if batch.events.is_empty() {
        if batch.next > after {
            // Nothing to apply, but the horizon moved past filtered events: keep up, so a
            // caller waiting for a position of another event type gets there.
            let advance = Advance {
                from: after,
                to: batch.next,
                counts: Counts::default(),
                last_event_at: None,
            };
            context.checkpoint.advance(&mut tx, advance).await?;
            tx.commit()
                .await
                .map_err(|e| store_error(e, &doing("committing the checkpoint")))?;
        }
        return Ok(BatchOutcome {
            counts: Counts::default(),
            set_aside: Vec::new(),
            caught_up: true,
            checkpoint: batch.next.max(after),
            written: Vec::new(),
        });
    }

    // Park (or skip) what failed before; the model applies the rest.
    let mut events = Vec::with_capacity(batch.events.len());
    let mut counts = Counts::default();
    let mut set_aside = Vec::new();
    let last_event_at = batch.events.last().map(|e| e.recorded_at);
    for stored in batch.events {
        let Some(failure) = context.failures.due(&stored.event_id, context.policy) else {
            events.push(stored);
            continue;
        };
        if context.policy == FailurePolicy::Skip {
            tracing::warn!(projection = name, event_id = %stored.event_id, event_type = %stored.event_type,
                error = %failure.error, "skipping an event that does not project");
            counts.skipped += 1;
        } else {
            park(name, &mut tx, &stored, &failure.error, failure.attempts).await?;
            counts.parked += 1;
        }
        set_aside.push(stored.event_id);
    }
    counts.applied = events.len() as u64;
    let only = match events.as_slice() {
        [only] => Some((only.event_id, only.position)),
        _ => None,
    };
    let mut written = Vec::new();
    let collect = context.written.then_some(&mut written);
    match (
        context.model.apply(&mut tx, events, memory, collect).await,
        only,
    ) {
        (Ok(()), _) => {}
        // One event's rows alone broke a rule of the table: that event's failure.
        (Err(BatchError::Rows(error)), Some((event_id, position))) => {
            return Err(BatchError::Event {
                event_id,
                position,
                error: EventFailure::Database(error),
            });
        }
        (Err(error), _) => return Err(error),
    }
    let advance = Advance {
        from: after,
        to: batch.next,
        counts,
        last_event_at,
    };
    context.checkpoint.advance(&mut tx, advance).await?;
    tx.commit()
        .await
        .map_err(|e| store_error(e, &doing("committing a batch")))?;
    crate::observability::batch_committed(name, counts.applied, counts.parked, counts.skipped);
    Ok(BatchOutcome {
        counts,
        set_aside,
        caught_up,
        checkpoint: batch.next,
        written,
    })
}

/// Applies the events of one batch to a `#[projection]` table: decodes them, loads every
/// touched row in one query, applies the events in log order, writes the rows back in one
/// statement and deletes the emptied ones in another.
/// With `memory`, rows it holds are not loaded, and the rows written are remembered;
/// with `written`, the rows written and deleted are listed there.
pub(crate) async fn apply_to_table<P: Projection>(
    conn: &mut PgConnection,
    events: Vec<StoredEvent>,
    memory: Option<&mut RowMemory<P>>,
    written: Option<&mut Vec<RowChange>>,
) -> Result<(), BatchError> {
    let mut work = Vec::with_capacity(events.len());
    for stored in events {
        let (event_id, position) = (stored.event_id, stored.position);
        let failed = |error: ProjectionError| BatchError::Event {
            event_id,
            position,
            error: EventFailure::Projection(error),
        };
        let tenant = row_tenant::<P>(&stored.stream.tenant);
        let event = P::decode(stored).map_err(|e| failed(e.into()))?;
        let key = (tenant, P::event_key(&event).map_err(failed)?);
        work.push(((event_id, position), key, event));
    }
    let mut rows: BTreeMap<RowId<P>, (bool, Option<P>)> = BTreeMap::new();
    let mut unknown: BTreeMap<RowId<P>, (bool, Option<P>)> = BTreeMap::new();
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
    for ((event_id, position), key, event) in &work {
        let (_, row) = rows.get_mut(key).expect("every key was entered above");
        // `project` is user code: a panic fails this event, not the runner.
        catch_unwind(AssertUnwindSafe(|| P::project_event(row, event))).map_err(|panic| {
            BatchError::Event {
                event_id: *event_id,
                position: *position,
                error: EventFailure::Panicked(panic_message(&panic)),
            }
        })?;
    }
    if let Some(memory) = memory {
        for (key, (_, row)) in &rows {
            memory.keep(key, row);
        }
    }
    write_rows::<P>(conn, rows, written).await
}

async fn load_rows<P: Projection>(
    conn: &mut PgConnection,
    rows: &mut BTreeMap<RowId<P>, (bool, Option<P>)>,
) -> Result<(), BatchError> {
    let keys = rows
        .keys()
        .map(|(tenant, key)| key_object::<P>(tenant.as_ref(), key))
        .collect::<Result<Vec<_>, _>>()
        .map_err(corrupt)?;
    let select = statements::<P>().map_err(corrupt)?.select_by_keys.as_str();
    let found: Vec<Value> = sqlx::query_scalar(select)
        .bind(Value::Array(keys))
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| store_error(e, &format!("projection `{}`: loading rows", P::NAME)))?;
    for json in found {
        let (tenant, row) = split_row::<P>(json).map_err(corrupt)?;
        rows.insert((tenant, row.row_key()), (true, Some(row)));
    }
    Ok(())
}

async fn write_rows<P: Projection>(
    conn: &mut PgConnection,
    rows: BTreeMap<RowId<P>, (bool, Option<P>)>,
    mut written: Option<&mut Vec<RowChange>>,
) -> Result<(), BatchError> {
    let table = statements::<P>().map_err(corrupt)?;
    let mut upserts = Vec::new();
    let mut deletes = Vec::new();
    for ((tenant, key), (existed, row)) in rows {
        if let Some(written) = written.as_deref_mut()
            && (row.is_some() || existed)
        {
            written.push(RowChange {
                tenant: tenant.clone(),
                key: P::key_object(&key).map_err(corrupt)?,
                deleted: row.is_none(),
            });
        }
        match row {
            Some(row) => upserts.push(row_object::<P>(tenant.as_ref(), &row).map_err(corrupt)?),
            None if existed => {
                deletes.push(key_object::<P>(tenant.as_ref(), &key).map_err(corrupt)?)
            }
            None => {}
        }
    }
    if !upserts.is_empty() {
        sqlx::query(&table.upsert)
            .bind(Value::Array(upserts))
            .execute(&mut *conn)
            .await
            .map_err(|e| rows_error(e, P::NAME, "writing rows"))?;
    }
    if !deletes.is_empty() {
        sqlx::query(&table.delete_by_keys)
            .bind(Value::Array(deletes))
            .execute(&mut *conn)
            .await
            .map_err(|e| rows_error(e, P::NAME, "deleting rows"))?;
    }
    Ok(())
}

/// The batch error for a failed write of rows: [`BatchError::Rows`] when the rows broke
/// a rule of the table, a storage failure otherwise.
fn rows_error(error: sqlx::Error, projection: &str, doing: &str) -> BatchError {
    if is_data_error(&error) {
        BatchError::Rows(error)
    } else {
        store_error(error, &format!("projection `{projection}`: {doing}")).into()
    }
}

/// Runs `future`, turning a panic while it is polled into its message: user code (a
/// hand-written handler) fails its event, not the runner.
pub(crate) async fn catch_panic<F: Future>(future: F) -> Result<F::Output, String> {
    let mut future = std::pin::pin!(future);
    std::future::poll_fn(
        |cx| match catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(panic) => Poll::Ready(Err(panic_message(&panic))),
        },
    )
    .await
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-text panic".to_owned())
}
