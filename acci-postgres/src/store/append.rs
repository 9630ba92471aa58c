//! Appending events, and the command records written with them.

use acci_core::{
    AggregateId, AppendOutcome, Appended, CommandId, CommandRecord, ConcurrencyConflict, EventId,
    ExpectedVersion, NewEvent, StoreError, StreamId, TenantId, validate_new_events,
};
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};

use crate::error::{store_error, unique_violation};
use crate::rows::{corrupt, log_position, to_i64, to_u64};

const APPEND: &str = include_str!("../../sql/store/append.sql");

/// An `Any` append that lost a race for the next sequence number tries again, up to this
/// many times; each try reads the stream's new version.
const ANY_VERSION_TRIES: usize = 16;

/// The columns of one append, as arrays: the whole batch is one statement.
struct Columns {
    ids: Vec<uuid::Uuid>,
    types: Vec<String>,
    versions: Vec<i32>,
    data: Vec<serde_json::Value>,
    metadata: Vec<serde_json::Value>,
}

impl Columns {
    fn new(events: Vec<NewEvent>) -> Result<Self, StoreError> {
        let mut columns = Columns {
            ids: Vec::with_capacity(events.len()),
            types: Vec::with_capacity(events.len()),
            versions: Vec::with_capacity(events.len()),
            data: Vec::with_capacity(events.len()),
            metadata: Vec::with_capacity(events.len()),
        };
        for event in events {
            columns.ids.push(event.event_id.as_uuid());
            columns
                .versions
                .push(i32::try_from(event.schema_version).map_err(|_| {
                    acci_core::ValidationError::new(
                        format!("schema version of `{}`", event.event_type),
                        format!(
                            "is {}, beyond the largest stored ({})",
                            event.schema_version,
                            i32::MAX
                        ),
                    )
                })?);
            columns.types.push(event.event_type.into_owned());
            columns.data.push(event.payload);
            columns.metadata.push(
                serde_json::to_value(&event.metadata)
                    .map_err(|e| corrupt(format!("metadata: {e}")))?,
            );
        }
        Ok(columns)
    }
}

pub(crate) async fn append(
    pool: &PgPool,
    stream: &StreamId,
    expected: ExpectedVersion,
    events: Vec<NewEvent>,
    command_id: Option<CommandId>,
) -> Result<AppendOutcome, StoreError> {
    acci_core::validate_stream(stream)?;
    validate_new_events(&events)?;
    acci_core::validate_expected(expected)?;
    let expected_sql = match expected {
        ExpectedVersion::Any => None,
        ExpectedVersion::NoStream => Some(0),
        ExpectedVersion::Exactly(v) => Some(to_i64(v, "expected version")?),
    };
    let columns = Columns::new(events)?;
    let tries = if expected == ExpectedVersion::Any {
        ANY_VERSION_TRIES
    } else {
        1
    };
    let mut last_error = None;
    for _ in 0..tries {
        let result = sqlx::query(APPEND)
            .bind(stream.tenant.as_str())
            .bind(&*stream.aggregate_type)
            .bind(stream.aggregate_id.as_str())
            .bind(expected_sql)
            .bind(command_id.map(|c| c.as_uuid()))
            .bind(&columns.ids)
            .bind(&columns.types)
            .bind(&columns.versions)
            .bind(&columns.data)
            .bind(&columns.metadata)
            .fetch_one(pool)
            .await;
        match result {
            Ok(row) => {
                return match outcome(&row, stream, expected)? {
                    Some(outcome) => Ok(outcome),
                    // Recorded before: answer with the full record, stream included, so a
                    // command id reused for another stream is recognised by the caller.
                    None => {
                        let command_id = command_id
                            .ok_or_else(|| corrupt("a duplicate without a command id"))?;
                        let record = find_command(pool, &stream.tenant, command_id).await?;
                        record
                            .map(AppendOutcome::AlreadyApplied)
                            .ok_or_else(|| corrupt("a vanished command record"))
                    }
                };
            }
            Err(error) => match unique_violation(&error) {
                // Another writer took the same sequence numbers first.
                Some("events_stream_sequence_key") => {
                    if let Some(command_id) = command_id {
                        if let Some(record) = find_command(pool, &stream.tenant, command_id).await?
                        {
                            return Ok(AppendOutcome::AlreadyApplied(record));
                        }
                    }
                    if expected != ExpectedVersion::Any {
                        let actual = stream_version(pool, stream).await?;
                        return Err(ConcurrencyConflict {
                            stream: stream.clone(),
                            expected,
                            actual,
                        }
                        .into());
                    }
                    last_error = Some(error);
                }
                // The same command id was recorded by a racing append.
                Some("commands_pkey") => {
                    let command_id = command_id.expect("only appends with a command id record one");
                    return match find_command(pool, &stream.tenant, command_id).await? {
                        Some(record) => Ok(AppendOutcome::AlreadyApplied(record)),
                        None => Err(store_error(error, "recording the command")),
                    };
                }
                Some("events_event_id_key") => {
                    return Err(match taken_event_id(pool, &columns).await {
                        Some(taken) => StoreError::DuplicateEventId(taken),
                        None => store_error(error, "appending events"),
                    });
                }
                _ => return Err(store_error(error, "appending events")),
            },
        }
    }
    let error = last_error.expect("the loop ran at least once");
    Err(store_error(
        error,
        "appending with any version kept losing the race for the next sequence number",
    ))
}

/// The first id of the batch that is already stored.
async fn taken_event_id(pool: &PgPool, columns: &Columns) -> Option<EventId> {
    let taken: Vec<uuid::Uuid> = sqlx::query_scalar("SELECT event_store.taken_event_ids($1)")
        .bind(&columns.ids)
        .fetch_all(pool)
        .await
        .ok()?;
    columns
        .ids
        .iter()
        .find(|id| taken.contains(id))
        .map(|id| EventId::from(*id))
}

/// The append's outcome; `None` when the command id had been recorded before.
fn outcome(
    row: &PgRow,
    stream: &StreamId,
    expected: ExpectedVersion,
) -> Result<Option<AppendOutcome>, StoreError> {
    let field = |name: &str| {
        row.try_get::<Option<i64>, _>(name)
            .map_err(corrupt)
            .and_then(|v| {
                v.ok_or_else(|| corrupt(format!("`{name}` missing from the append's outcome")))
            })
    };
    let outcome: String = row.try_get("outcome").map_err(corrupt)?;
    match outcome.as_str() {
        "conflict" => {
            let actual = to_u64(field("stream_version")?, "stream version")?;
            Err(ConcurrencyConflict {
                stream: stream.clone(),
                expected,
                actual,
            }
            .into())
        }
        "duplicate" => Ok(None),
        "appended" => {
            let transaction: String = row.try_get("last_transaction_id").map_err(corrupt)?;
            Ok(Some(AppendOutcome::Appended(Appended {
                first_sequence: to_u64(field("first_sequence")?, "sequence")?,
                last_sequence: to_u64(field("last_sequence")?, "sequence")?,
                last_position: log_position(&transaction, field("last_position")?)?,
            })))
        }
        other => Err(corrupt(format!("append outcome `{other}`"))),
    }
}

async fn stream_version(pool: &PgPool, stream: &StreamId) -> Result<u64, StoreError> {
    let version: i64 = sqlx::query_scalar("SELECT event_store.stream_version($1, $2, $3)")
        .bind(stream.tenant.as_str())
        .bind(&*stream.aggregate_type)
        .bind(stream.aggregate_id.as_str())
        .fetch_one(pool)
        .await
        .map_err(|e| store_error(e, "reading the stream version"))?;
    to_u64(version, "stream version")
}

pub(crate) async fn find_command(
    pool: &PgPool,
    tenant: &TenantId,
    command_id: CommandId,
) -> Result<Option<CommandRecord>, StoreError> {
    let row = sqlx::query(include_str!("../../sql/store/find_command.sql"))
        .bind(tenant.as_str())
        .bind(command_id.as_uuid())
        .fetch_optional(pool)
        .await
        .map_err(|e| store_error(e, "looking up a command"))?;
    let Some(row) = row else { return Ok(None) };
    let aggregate_id = AggregateId::new(row.try_get::<String, _>("aggregate_id").map_err(corrupt)?)
        .map_err(corrupt)?;
    let aggregate_type: String = row.try_get("aggregate_type").map_err(corrupt)?;
    let transaction: String = row.try_get("last_transaction_id").map_err(corrupt)?;
    Ok(Some(CommandRecord {
        command_id,
        stream: StreamId::new(tenant.clone(), aggregate_type, aggregate_id).map_err(corrupt)?,
        first_sequence: to_u64(row.try_get("first_sequence").map_err(corrupt)?, "sequence")?,
        last_sequence: to_u64(row.try_get("last_sequence").map_err(corrupt)?, "sequence")?,
        last_position: log_position(&transaction, row.try_get("last_position").map_err(corrupt)?)?,
    }))
}
