//! Appending events, with the command record written in the same step.

use acci_core::{
    AppendOutcome, Appended, CommandId, ConcurrencyConflict, EventId, ExpectedVersion, NewEvent,
    StoreError, StreamId, validate_new_events,
};
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};

use crate::error::{store_error, unique_violation};
use crate::rows::{corrupt, log_position, to_i64, to_u64};

use super::command::{find_command, record};

/// The outcome's columns, then a command record's (`recorded_…`, set when the command id
/// was recorded before) in the order [`record`] reads them.
const APPEND: &str = include_str!("../../sql/store/append.sql");

/// Where the command record's columns start in a row of [`APPEND`].
const RECORD_FROM: usize = 2;

/// The columns of one append, as arrays: the whole batch is one statement.
pub(crate) struct Columns {
    pub(crate) ids: Vec<uuid::Uuid>,
    pub(crate) types: Vec<String>,
    pub(crate) versions: Vec<i32>,
    pub(crate) data: Vec<serde_json::Value>,
    pub(crate) metadata: Vec<serde_json::Value>,
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

/// One append, checked and laid out in the columns the SQL takes: what
/// [`append_one`] sends alone and the group commit queues.
pub(crate) struct Request {
    pub(crate) stream: StreamId,
    pub(crate) expected: ExpectedVersion,
    /// `expected` as the SQL takes it: NULL any, 0 no stream, n exactly n.
    pub(crate) expected_sql: Option<i64>,
    pub(crate) command_id: Option<CommandId>,
    pub(crate) columns: Columns,
}

impl Request {
    /// Checks the append before any I/O, as every store refuses it.
    pub(crate) fn new(
        stream: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
        command_id: Option<CommandId>,
    ) -> Result<Self, StoreError> {
        acci_core::validate_stream(stream)?;
        validate_new_events(&events)?;
        acci_core::validate_expected(expected)?;
        let expected_sql = match expected {
            ExpectedVersion::Any => None,
            ExpectedVersion::NoStream => Some(0),
            ExpectedVersion::Exactly(v) => Some(to_i64(v, "expected version")?),
        };
        Ok(Request {
            stream: stream.clone(),
            expected,
            expected_sql,
            command_id,
            columns: Columns::new(events)?,
        })
    }

    /// How many events it appends.
    pub(crate) fn events(&self) -> usize {
        self.columns.ids.len()
    }
}

/// Sends one append alone, through `event_store.append`.
pub(crate) async fn append_one(
    pool: &PgPool,
    request: &Request,
) -> Result<AppendOutcome, StoreError> {
    let Request {
        stream,
        expected,
        expected_sql,
        command_id,
        columns,
    } = request;
    let (expected, command_id) = (*expected, *command_id);
    // No retry for `Any`: the function takes the stream's lock before it reads the
    // version, and refuses to run under an isolation stricter than READ COMMITTED (where
    // its snapshot would predate the lock), so no append loses the race for a sequence
    // number to another append.
    let result = sqlx::query(APPEND)
        .bind(stream.tenant.as_str())
        .bind(&*stream.aggregate_type)
        .bind(stream.aggregate_id.as_str())
        .bind(*expected_sql)
        .bind(command_id.map(|c| c.as_uuid()))
        .bind(&columns.ids)
        .bind(&columns.types)
        .bind(&columns.versions)
        .bind(&columns.data)
        .bind(&columns.metadata)
        .fetch_one(pool)
        .await;
    let error = match result {
        Ok(row) => return outcome(&row, request),
        Err(error) => error,
    };
    match unique_violation(&error) {
        // Only a writer that bypassed the function (and its lock) can take the same
        // sequence numbers first.
        Some("events_stream_sequence_key") if expected != ExpectedVersion::Any => {
            let actual = stream_version(pool, stream).await?;
            Err(ConcurrencyConflict {
                stream: stream.clone(),
                expected,
                actual,
            }
            .into())
        }
        // The same command id, recorded at the same moment by an append to another stream
        // (the lock is per stream): its record is the answer.
        Some("commands_pkey") => {
            let command_id = command_id.expect("only appends with a command id record one");
            match find_command(pool, &stream.tenant, command_id).await? {
                Some(record) => Ok(AppendOutcome::AlreadyApplied(record)),
                None => Err(store_error(error, "recording the command")),
            }
        }
        Some("events_event_id_key") => Err(match taken_event_id(pool, columns).await {
            Some(taken) => StoreError::DuplicateEventId(taken),
            None => store_error(error, "appending events"),
        }),
        _ => Err(store_error(error, "appending events")),
    }
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

/// The append's outcome, from its row (of `event_store.append`, or `append_batch`'s for
/// this request: the same columns).
pub(crate) fn outcome(row: &PgRow, request: &Request) -> Result<AppendOutcome, StoreError> {
    let Request {
        stream,
        expected,
        command_id,
        ..
    } = request;
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
                expected: *expected,
                actual,
            }
            .into())
        }
        // Recorded before: the full record, stream included (a command id reused for
        // another stream is recognised by the caller), and its events.
        "duplicate" => {
            let command_id =
                command_id.ok_or_else(|| corrupt("a duplicate without a command id"))?;
            record(row, RECORD_FROM, &stream.tenant, command_id).map(AppendOutcome::AlreadyApplied)
        }
        "appended" => {
            let transaction: String = row.try_get("last_transaction_id").map_err(corrupt)?;
            Ok(AppendOutcome::Appended(Appended {
                first_sequence: to_u64(field("first_sequence")?, "sequence")?,
                last_sequence: to_u64(field("last_sequence")?, "sequence")?,
                last_position: log_position(&transaction, field("last_position")?)?,
            }))
        }
        other => Err(corrupt(format!("append outcome `{other}`"))),
    }
}

async fn stream_version(pool: &PgPool, stream: &StreamId) -> Result<u64, StoreError> {
    let version: i64 = sqlx::query_scalar(include_str!("../../sql/store/stream_version.sql"))
        .bind(stream.tenant.as_str())
        .bind(&*stream.aggregate_type)
        .bind(stream.aggregate_id.as_str())
        .fetch_one(pool)
        .await
        .map_err(|e| store_error(e, "reading the stream version"))?;
    to_u64(version, "stream version")
}
