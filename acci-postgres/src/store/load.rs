//! Reading: one stream, the global log, and snapshots.

use acci_core::{
    AggregateEvent, AggregateLoad, EventId, EventKind, LogBatch, Payload, ReadAll, Snapshot,
    StoreError, StoredEvent, StreamId, TenantScope, stored_time, validate_read, validate_snapshot,
    validate_stream,
};
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};

use crate::error::{refused_or_store_error, store_error};
use crate::rows::{
    EVENT_AND_STREAM_COLUMNS, EVENT_COLUMNS, JsonError, STREAM_COLUMNS, column, corrupt,
    json_column, jsonb_text, log_position, schema_version, stored_event, to_i64, to_u64,
};
use crate::store::{BIND_ALL_TENANTS, BIND_TENANT};
use futures_util::TryStreamExt;

/// Events of one stream from `first` to `last`, both included. Stream loads see every
/// committed event at once: the global log's horizon does not apply here.
pub(crate) async fn load_range(
    pool: &PgPool,
    stream: &StreamId,
    first: u64,
    last: u64,
) -> Result<Vec<StoredEvent>, StoreError> {
    validate_stream(stream)?;
    let first = i64::try_from(first).unwrap_or(i64::MAX);
    let last = i64::try_from(last).unwrap_or(i64::MAX);
    // Each row is decoded as it arrives (`try_map`), while the server still sends the rest.
    sqlx::query(include_str!("../../sql/store/load_stream.sql"))
        .bind(stream.tenant.as_str())
        .bind(&*stream.aggregate_type)
        .bind(stream.aggregate_id.as_str())
        .bind(first)
        .bind(last)
        .try_map(|row: PgRow| stored_event(&row, Some(stream)).map_err(decode_error))
        .fetch_all(pool)
        .await
        .map_err(|e| row_error(e, "loading a stream"))
}

/// The newest snapshot at `state_version` and the events after it, in one round trip.
///
/// A snapshot whose state nests deeper than a reader hands out (written by raw SQL) is
/// passed over like one of another shape: a second query reads every event instead.
pub(crate) async fn load_aggregate(
    pool: &PgPool,
    stream: &StreamId,
    state_version: Option<u64>,
) -> Result<AggregateLoad, StoreError> {
    validate_stream(stream)?;
    let state_version = state_version
        .map(|v| to_i64(v, "snapshot state version"))
        .transpose()?;
    if let Some(load) = fold_aggregate(pool, stream, state_version).await? {
        return Ok(load);
    }
    fold_aggregate(pool, stream, None)
        .await?
        .ok_or_else(|| corrupt("a load that asked for no snapshot returned one"))
}

/// The rows of `sql/store/load_aggregate.sql`, folded into the load as they arrive;
/// `None` if the snapshot was unreadable (the rest of the rows are not read then).
async fn fold_aggregate(
    pool: &PgPool,
    stream: &StreamId,
    state_version: Option<i64>,
) -> Result<Option<AggregateLoad>, StoreError> {
    // Each row is decoded as it arrives (`try_map`), while the server still sends the
    // rest, and goes straight into the load. Columns by position: this is the hot path of
    // every command that loads.
    let mut rows = sqlx::query(include_str!("../../sql/store/load_aggregate.sql"))
        .bind(stream.tenant.as_str())
        .bind(&*stream.aggregate_type)
        .bind(stream.aggregate_id.as_str())
        .bind(state_version)
        .try_map(|row: PgRow| aggregate_row(&row).map_err(decode_error))
        .fetch(pool);
    let mut load = AggregateLoad {
        snapshot: None,
        events: Vec::new(),
    };
    // The statement promises the snapshot first, then the events in ascending order
    // (see its header); a row out of that order is refused rather than folded.
    let mut last = 0;
    let mut first = true;
    while let Some(row) = rows
        .try_next()
        .await
        .map_err(|e| row_error(e, "loading an aggregate"))?
    {
        match row {
            AggregateRow::Snapshot(snapshot) if first => {
                last = snapshot.version;
                load.snapshot = Some(snapshot);
            }
            AggregateRow::UnreadableSnapshot if first => return Ok(None),
            AggregateRow::Event(event) if event.sequence > last => {
                last = event.sequence;
                load.events.push(event);
            }
            _ => return Err(corrupt("the aggregate's rows came out of order")),
        }
        first = false;
    }
    Ok(Some(load))
}

/// A decoding error as `try_map` carries it, to be unwrapped again by [`row_error`].
fn decode_error(error: StoreError) -> sqlx::Error {
    sqlx::Error::Decode(Box::new(error))
}

/// The error of a query whose rows are decoded by `try_map`: the decoder's own
/// [`StoreError`] as it was, anything else as the query's failure.
fn row_error(error: sqlx::Error, doing: &str) -> StoreError {
    match error {
        sqlx::Error::Decode(inner) => match inner.downcast::<StoreError>() {
            Ok(store) => *store,
            Err(other) => corrupt(other),
        },
        other => store_error(other, doing),
    }
}

/// One row of `sql/store/load_aggregate.sql`.
enum AggregateRow {
    Snapshot(Snapshot),
    /// A snapshot whose state nests deeper than a reader hands out.
    UnreadableSnapshot,
    Event(AggregateEvent),
}

/// A snapshot state, or `None` for one nested deeper than a reader hands out (written
/// by raw SQL: the API refuses such a state), which is passed over with a warning.
fn snapshot_state(row: &PgRow, index: usize) -> Result<Option<Value>, StoreError> {
    match json_column(row, index) {
        Ok(state) => Ok(Some(state)),
        Err(JsonError::TooDeep(depth)) => {
            tracing::warn!(
                depth,
                "passing over a snapshot state nested too deep to read"
            );
            Ok(None)
        }
        Err(JsonError::Store(error)) => Err(error),
    }
}

fn aggregate_row(row: &PgRow) -> Result<AggregateRow, StoreError> {
    let sequence = to_u64(column(row, 1)?, "sequence")?;
    Ok(match column::<Option<i64>>(row, 0)? {
        Some(state_version) => match snapshot_state(row, 5)? {
            Some(state) => AggregateRow::Snapshot(Snapshot {
                version: sequence,
                state_version: to_u64(state_version, "snapshot state version")?,
                state,
                taken_at: column::<DateTime<Utc>>(row, 6)?,
            }),
            None => AggregateRow::UnreadableSnapshot,
        },
        None => AggregateRow::Event(AggregateEvent {
            event_id: EventId::from(column::<uuid::Uuid>(row, 2)?),
            sequence,
            event_type: column(row, 3)?,
            schema_version: schema_version(column(row, 4)?)?,
            data: Payload::Text(jsonb_text(row, 5)?.to_owned()),
        }),
    })
}

/// An event filter as `event_store.read_log` takes it: two arrays of one length, the
/// aggregate types (`NULL` for any) and the event types, pair by pair; `None` reads every
/// event.
pub(crate) fn event_filter(
    kinds: Option<&[EventKind]>,
) -> (Option<Vec<Option<&str>>>, Option<Vec<&str>>) {
    let Some(kinds) = kinds else {
        return (None, None);
    };
    let (aggregate_types, event_types) = kinds
        .iter()
        .map(|kind| (kind.aggregate_type.as_deref(), &*kind.event_type))
        .unzip();
    (Some(aggregate_types), Some(event_types))
}

/// The next batch of the global log; see `event_store.read_log` for why it never skips
/// an event that commits late.
pub(crate) async fn read_log(
    conn: &mut sqlx::PgConnection,
    request: &ReadAll,
) -> Result<LogBatch, StoreError> {
    read_log_to_unreadable(conn, request)
        .await
        .map(|(batch, _)| batch)
}

/// [`read_log`], and whether the batch stopped short before an unreadable event (so a
/// batch shorter than asked for does not mean the log has nothing more).
pub(crate) async fn read_log_to_unreadable(
    conn: &mut sqlx::PgConnection,
    request: &ReadAll,
) -> Result<(LogBatch, bool), StoreError> {
    validate_read(request)?;
    let limit = i32::try_from(request.limit).unwrap_or(i32::MAX);
    let (aggregate_types, event_types) = event_filter(request.events.as_deref());
    // The binding and the read in one statement, as for every store call: the tenant's
    // (`$1`), or the all-tenants switch, which `read_log` checks beside the caller's role.
    let (statement, tenant) = match &request.scope {
        TenantScope::Tenant(tenant) => (
            format!(
                "SELECT {EVENT_COLUMNS}, {STREAM_COLUMNS}, horizon FROM {BIND_TENANT} \
                 event_store.read_log(t.tenant, $2::text::xid8, $3, $4, $5, $6)"
            ),
            Some(tenant.as_str()),
        ),
        TenantScope::AllTenants => (
            format!(
                "SELECT {EVENT_COLUMNS}, {STREAM_COLUMNS}, horizon FROM {BIND_ALL_TENANTS} \
                 event_store.read_log(nullif(t.switch, 'on'), $1::text::xid8, $2, $3, $4, $5)"
            ),
            None,
        ),
    };
    let mut query = sqlx::query(&statement);
    if let Some(tenant) = tenant {
        query = query.bind(tenant);
    }
    let rows = query
        .bind(request.after.commit.to_string())
        .bind(to_i64(request.after.position, "log position")?)
        .bind(limit)
        .bind(aggregate_types)
        .bind(event_types)
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| store_error(e, "reading the global log"))?;
    let mut events = Vec::with_capacity(rows.len());
    let mut horizon = None;
    let mut stopped = false;
    for row in &rows {
        horizon = Some(
            row.try_get::<String, _>(EVENT_AND_STREAM_COLUMNS)
                .map_err(corrupt)?,
        );
        // A row without an event only carries the horizon: nothing was found.
        if row
            .try_get::<Option<uuid::Uuid>, _>(2)
            .map_err(corrupt)?
            .is_some()
        {
            match stored_event(row, None) {
                Ok(event) => events.push(event),
                // The events before an unreadable one still come back; the next read
                // starts at it and reports it.
                Err(StoreError::Unreadable { .. }) if !events.is_empty() => {
                    stopped = true;
                    break;
                }
                Err(error) => return Err(error),
            }
        }
    }
    let next = match events.last() {
        Some(last) => last.position,
        // Nothing after `after` below the horizon: every event that can still appear has
        // a transaction id at or above it, so resuming there skips only what was filtered.
        None => {
            let horizon = horizon.ok_or_else(|| corrupt("the log read returned no horizon"))?;
            let horizon = log_position(&horizon, 0)?;
            request.after.max(horizon)
        }
    };
    Ok((LogBatch { events, next }, stopped))
}

pub(crate) async fn save_snapshot(
    pool: &PgPool,
    stream: &StreamId,
    snapshot: Snapshot,
) -> Result<(), StoreError> {
    validate_stream(stream)?;
    validate_snapshot(&snapshot)?;
    let taken_at = stored_time("snapshot time", snapshot.taken_at)?;
    sqlx::query(include_str!("../../sql/store/save_snapshot.sql"))
        .bind(stream.tenant.as_str())
        .bind(&*stream.aggregate_type)
        .bind(stream.aggregate_id.as_str())
        .bind(to_i64(snapshot.version, "snapshot version")?)
        .bind(to_i64(snapshot.state_version, "snapshot state version")?)
        .bind(&snapshot.state)
        .bind(taken_at)
        .execute(pool)
        .await
        .map_err(|e| refused_or_store_error(e, "snapshot version", "saving a snapshot"))?;
    Ok(())
}

pub(crate) async fn load_snapshot(
    pool: &PgPool,
    stream: &StreamId,
) -> Result<Option<Snapshot>, StoreError> {
    validate_stream(stream)?;
    let row = sqlx::query(include_str!("../../sql/store/load_snapshot.sql"))
        .bind(stream.tenant.as_str())
        .bind(&*stream.aggregate_type)
        .bind(stream.aggregate_id.as_str())
        .fetch_optional(pool)
        .await
        .map_err(|e| store_error(e, "loading a snapshot"))?;
    let Some(row) = row else { return Ok(None) };
    let Some(state) = snapshot_state(&row, 2)? else {
        return Ok(None);
    };
    Ok(Some(Snapshot {
        version: to_u64(row.try_get("version").map_err(corrupt)?, "snapshot version")?,
        state_version: to_u64(
            row.try_get("state_version").map_err(corrupt)?,
            "snapshot state version",
        )?,
        state,
        taken_at: row
            .try_get::<DateTime<Utc>, _>("taken_at")
            .map_err(corrupt)?,
    }))
}
