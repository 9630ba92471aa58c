//! Turning rows of the store's functions into acci-core values.

use acci_core::{
    AggregateId, EventId, LogPosition, MAX_READ_JSON_DEPTH, Metadata, StoreError, StoredEvent,
    StreamId, TenantId, json_text_depth,
};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;
use sqlx::Row;
use sqlx::postgres::{PgRow, PgValueFormat};

/// A column that did not hold what the schema promises: the database was changed by hand.
pub(crate) fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Backend {
        message: format!("unexpected data in the event store: {what}"),
        retryable: false,
        source: None,
    }
}

/// Column `index` of `row`; a value of another type is reported as corrupt data.
pub(crate) fn column<'r, T>(row: &'r PgRow, index: usize) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    row.try_get(index)
        .map_err(|e| corrupt(format!("column {index}: {e}")))
}

/// The columns every query for whole events selects, in this order (by position: looking
/// columns up by name costs a hash lookup per column per row). Without a known stream,
/// the stream's columns follow them.
pub(crate) const EVENT_COLUMNS: &str = "global_position, transaction_id, event_id, sequence, event_type, \
     schema_version, data, metadata, recorded_at";
/// The stream's columns, after [`EVENT_COLUMNS`].
pub(crate) const STREAM_COLUMNS: &str = "tenant_id, aggregate_type, aggregate_id";
/// How many columns [`EVENT_COLUMNS`] and [`STREAM_COLUMNS`] are together.
pub(crate) const EVENT_AND_STREAM_COLUMNS: usize = 12;

/// The `(transaction id, position)` pair of a row as a [`LogPosition`].
pub(crate) fn log_position(transaction_id: &str, position: i64) -> Result<LogPosition, StoreError> {
    let commit = transaction_id
        .parse::<u64>()
        .map_err(|_| corrupt(format!("transaction id `{transaction_id}`")))?;
    Ok(LogPosition {
        commit,
        position: to_u64(position, "position")?,
    })
}

/// A stored schema version (an `integer`, at least 1 by the table's check).
pub(crate) fn schema_version(stored: i32) -> Result<u32, StoreError> {
    u32::try_from(stored).map_err(|_| corrupt(format!("schema version {stored}")))
}

pub(crate) fn to_u64(value: i64, what: &str) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| corrupt(format!("negative {what} {value}")))
}

/// Database integers are `bigint`; values from acci-core beyond `i64::MAX` cannot exist in
/// a stream, so they are refused as input.
pub(crate) fn to_i64(value: u64, what: &'static str) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| {
        acci_core::ValidationError::new(
            what,
            format!("is {value}, beyond the largest value stored ({})", i64::MAX),
        )
        .into()
    })
}

/// A `jsonb` column as its JSON text, without parsing it. In the binary format a `jsonb`
/// value is a version byte (1) and the text.
pub(crate) fn jsonb_text(row: &PgRow, index: usize) -> Result<&str, StoreError> {
    let raw = row.try_get_raw(index).map_err(corrupt)?;
    let format = raw.format();
    let bytes = raw.as_bytes().map_err(corrupt)?;
    let text = match (format, bytes.split_first()) {
        (PgValueFormat::Binary, Some((1, text))) => text,
        (PgValueFormat::Binary, _) => return Err(corrupt("a jsonb value of an unknown version")),
        (PgValueFormat::Text, _) => bytes,
    };
    std::str::from_utf8(text).map_err(|e| corrupt(format!("jsonb that is not UTF-8: {e}")))
}

/// Why a stored JSON document is not handed out.
#[derive(Debug)]
pub(crate) enum JsonError {
    /// It nests deeper than [`MAX_READ_JSON_DEPTH`]: the depth.
    TooDeep(usize),
    /// It does not read as what the column holds.
    Store(StoreError),
}

/// A `jsonb` column, read whatever its depth up to [`MAX_READ_JSON_DEPTH`]: a document
/// that the API stored (at most `MAX_JSON_DEPTH` deep) parses on the first try; one
/// written by raw SQL and deeper than `serde_json`'s default limit of 128 levels is
/// measured without recursion, then parsed without that limit if it is within bounds.
pub(crate) fn json_column<T>(row: &PgRow, index: usize) -> Result<T, JsonError>
where
    T: for<'de> Deserialize<'de>,
{
    let text = jsonb_text(row, index).map_err(JsonError::Store)?;
    let bad = |e: serde_json::Error| JsonError::Store(corrupt(format!("column {index}: {e}")));
    match serde_json::from_str(text) {
        Ok(value) => Ok(value),
        Err(error) if error.is_syntax() || error.is_eof() => {
            let depth = json_text_depth(text);
            if depth > MAX_READ_JSON_DEPTH {
                return Err(JsonError::TooDeep(depth));
            }
            let mut deserializer = serde_json::Deserializer::from_str(text);
            deserializer.disable_recursion_limit();
            T::deserialize(&mut deserializer).map_err(bad)
        }
        Err(error) => Err(bad(error)),
    }
}

/// The error for an event row whose JSON a reader does not hand out.
fn unreadable(row: &PgRow, event_id: EventId, what: &str, error: JsonError) -> StoreError {
    match error {
        JsonError::Store(error) => error,
        JsonError::TooDeep(depth) => {
            let position =
                column::<String>(row, 1).and_then(|commit| log_position(&commit, column(row, 0)?));
            match position {
                Ok(position) => StoreError::Unreadable {
                    event_id,
                    position,
                    reason: format!(
                        "its {what} nests {depth} levels deep, more than the {MAX_READ_JSON_DEPTH} a reader hands out"
                    ),
                },
                Err(error) => error,
            }
        }
    }
}

/// One event row. `stream` is given when the query was for one stream, so it is not
/// rebuilt (and revalidated) for every row.
pub(crate) fn stored_event(
    row: &PgRow,
    stream: Option<&StreamId>,
) -> Result<StoredEvent, StoreError> {
    let event_id = EventId::from(column::<uuid::Uuid>(row, 2)?);
    let position = log_position(&column::<String>(row, 1)?, column(row, 0)?)?;
    // What this one row holds (written past the API, by raw SQL) and a reader cannot
    // hand out: that event is unreadable, the others are not.
    let malformed = |what: &str, error: &dyn std::fmt::Display| StoreError::Unreadable {
        event_id,
        position,
        reason: format!("its {what} is malformed: {error}"),
    };
    let stream = match stream {
        Some(stream) => stream.clone(),
        None => {
            let tenant =
                TenantId::new(column::<String>(row, 9)?).map_err(|e| malformed("tenant id", &e))?;
            let aggregate_id = AggregateId::new(column::<String>(row, 11)?)
                .map_err(|e| malformed("aggregate id", &e))?;
            StreamId::new(tenant, column::<String>(row, 10)?, aggregate_id)
                .map_err(|e| malformed("stream", &e))?
        }
    };
    let data: Value = json_column(row, 6).map_err(|e| unreadable(row, event_id, "payload", e))?;
    let metadata: Value =
        json_column(row, 7).map_err(|e| unreadable(row, event_id, "metadata", e))?;
    let metadata: Metadata =
        serde_json::from_value(metadata).map_err(|e| malformed("metadata", &e))?;
    Ok(StoredEvent {
        event_id,
        stream,
        sequence: to_u64(column(row, 3)?, "sequence")?,
        position,
        event_type: column(row, 4)?,
        schema_version: schema_version(column(row, 5)?)?,
        metadata,
        recorded_at: column::<DateTime<Utc>>(row, 8)?,
        data,
    })
}
