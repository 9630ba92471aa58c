//! Command records: a command id's record and the events it stored, as
//! `event_store.find_command` and a repeated `event_store.append` return them.

use acci_core::{
    AggregateEvent, AggregateId, CommandId, CommandRecord, EventId, Payload, StoreError, StreamId,
    TenantId,
};
use sqlx::PgPool;
use sqlx::postgres::PgRow;
use sqlx::types::Json;

use crate::error::store_error;
use crate::rows::{column, corrupt, log_position, schema_version, to_u64};

/// The record's columns, in the order [`record`] reads them (by position).
const FIND_COMMAND: &str = include_str!("../../sql/store/find_command.sql");

/// One element of the JSON array `event_store.command_events` returns.
#[derive(serde::Deserialize)]
struct RecordedEvent {
    event_id: uuid::Uuid,
    sequence: i64,
    event_type: String,
    schema_version: i32,
    data: serde_json::Value,
}

/// The record of `command_id` of `tenant` in seven columns of `row` from `first` on:
/// aggregate type, aggregate id, first and last sequence, last transaction id, last
/// position, and the events as `event_store.command_events` writes them.
pub(super) fn record(
    row: &PgRow,
    first: usize,
    tenant: &TenantId,
    command_id: CommandId,
) -> Result<CommandRecord, StoreError> {
    let aggregate_id = AggregateId::new(column::<String>(row, first + 1)?).map_err(corrupt)?;
    let stream = StreamId::new(tenant.clone(), column::<String>(row, first)?, aggregate_id)
        .map_err(corrupt)?;
    let Json(events) = column::<Json<Vec<RecordedEvent>>>(row, first + 6)?;
    let events = events
        .into_iter()
        .map(|event| {
            Ok(AggregateEvent {
                event_id: EventId::from(event.event_id),
                sequence: to_u64(event.sequence, "sequence")?,
                event_type: event.event_type,
                schema_version: schema_version(event.schema_version)?,
                data: Payload::Parsed(event.data),
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(CommandRecord {
        command_id,
        stream,
        first_sequence: to_u64(column(row, first + 2)?, "sequence")?,
        last_sequence: to_u64(column(row, first + 3)?, "sequence")?,
        last_position: log_position(&column::<String>(row, first + 4)?, column(row, first + 5)?)?,
        events,
    })
}

/// The record of `command_id` of `tenant`, with its events, in one round trip.
pub(crate) async fn find_command(
    pool: &PgPool,
    tenant: &TenantId,
    command_id: CommandId,
) -> Result<Option<CommandRecord>, StoreError> {
    let row = sqlx::query(FIND_COMMAND)
        .bind(tenant.as_str())
        .bind(command_id.as_uuid())
        .fetch_optional(pool)
        .await
        .map_err(|e| store_error(e, "looking up a command"))?;
    row.map(|row| record(&row, 0, tenant, command_id))
        .transpose()
}
