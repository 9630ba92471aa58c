//! Dead letters: events a projection parked because they failed to project, listed and
//! replayed once the projection is fixed.

use acci_core::projection::Committed;
use acci_core::{EventId, LogPosition, StoreError, StoredEvent};
use chrono::{DateTime, Utc};
use sqlx::{Connection, Executor, PgConnection, Row};

use super::checkpoint::Checkpoint;
use super::error::{BatchError, EventFailure, RunnerError};
use super::model::RunnerModel;
use super::observer::tell;
use super::runner::Runner;
use crate::error::store_error;
use crate::rows::{corrupt, log_position, to_i64};

/// What [`Runner::replay_dead_letters`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Replayed {
    /// Parked events that projected this time and left the dead-letter table.
    pub applied: u64,
    /// Parked events that failed again and stay parked.
    pub still_failing: u64,
}

/// An event a projection parked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// The event.
    pub event_id: EventId,
    /// Its stored type.
    pub event_type: String,
    /// Its log position.
    pub position: LogPosition,
    /// Why it did not project: the [`EventFailure`] it was parked with, as text.
    pub error: String,
    /// How many times it was tried.
    pub attempts: u32,
    /// When it was parked.
    pub parked_at: DateTime<Utc>,
}

/// Parks `event` for `projection`, with the failure that made it and its attempts.
pub(crate) async fn park(
    projection: &str,
    conn: &mut PgConnection,
    event: &StoredEvent,
    error: &EventFailure,
    attempts: u32,
) -> Result<(), StoreError> {
    tracing::warn!(projection, event_id = %event.event_id, event_type = %event.event_type, %error,
        "parking an event that does not project");
    sqlx::query(include_str!("../../sql/projection/dead_letter_park.sql"))
        .bind(projection)
        .bind(event.event_id.as_uuid())
        .bind(event.stream.tenant.as_str())
        .bind(&*event.stream.aggregate_type)
        .bind(event.stream.aggregate_id.as_str())
        .bind(to_i64(event.sequence, "sequence")?)
        .bind(event.position.commit.to_string())
        .bind(to_i64(event.position.position, "log position")?)
        .bind(&event.event_type)
        .bind(error.to_string())
        .bind(i32::try_from(attempts).unwrap_or(i32::MAX))
        .execute(conn)
        .await
        .map_err(|e| store_error(e, &format!("projection `{projection}`: parking an event")))?;
    Ok(())
}

impl<M: RunnerModel> Runner<M> {
    /// Applies the parked events again, oldest first, each in a transaction of its own:
    /// after the projection's code was fixed, say. An event that now projects leaves the
    /// dead-letter table and counts as applied; one that still fails stays, with its new
    /// error and one more attempt. The checkpoint does not move (the parked events are
    /// behind it already), so a replayed event lands after the events that followed it.
    ///
    /// A storage failure stops the replay with the error; what was replayed stays so.
    pub async fn replay_dead_letters(&self) -> Result<Replayed, RunnerError> {
        let name = self.model.name();
        let doing = format!("replaying the dead letters of `{name}`");
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(|e| store_error(e, &doing))?;
        let mut replayed = Replayed::default();
        let mut written = Vec::new();
        for letter in self.dead_letters().await? {
            written.clear();
            let collect = self.observer.is_some().then_some(&mut written);
            let mut tx = conn.begin().await.map_err(|e| store_error(e, &doing))?;
            let live = format!("SET LOCAL search_path = {}", super::READ_MODEL_SCHEMA);
            tx.execute(live.as_str())
                .await
                .map_err(|e| store_error(e, &doing))?;
            tx.execute("SELECT set_config('acci.all_tenants', 'on', true)")
                .await
                .map_err(|e| store_error(e, &doing))?;
            let applied = match parked_event(&mut tx, &letter).await? {
                Ok(event) => self.model.apply(&mut tx, vec![event], None, collect).await,
                Err(reason) => Err(BatchError::Event {
                    event_id: letter.event_id,
                    position: letter.position,
                    error: EventFailure::Unreadable { reason },
                }),
            };
            match applied {
                Ok(()) => {
                    unpark(&mut tx, name, letter.event_id).await?;
                    tx.commit().await.map_err(|e| store_error(e, &doing))?;
                    let rows = Committed::Rows {
                        projection: name,
                        rows: &written,
                    };
                    tell(self.observer.as_ref(), rows).await;
                    replayed.applied += 1;
                }
                // A one-event batch: rows it could not write are that event's.
                Err(failed @ (BatchError::Event { .. } | BatchError::Rows(_))) => {
                    let error = match failed {
                        BatchError::Event { error, .. } => error.to_string(),
                        other => other.to_string(),
                    };
                    drop(tx);
                    failed_again(&mut conn, name, letter.event_id, &error).await?;
                    replayed.still_failing += 1;
                }
                Err(BatchError::Runner(error)) => return Err(error),
            }
        }
        Ok(replayed)
    }

    /// The events this projection parked, oldest first.
    pub async fn dead_letters(&self) -> Result<Vec<DeadLetter>, RunnerError> {
        Ok(list_dead_letters(&self.pool, self.model.name()).await?)
    }
}

/// The parked event of `letter`, read in `tx` (which must see every tenant); the reason
/// when the store cannot hand it out.
pub(crate) async fn parked_event(
    tx: &mut PgConnection,
    letter: &DeadLetter,
) -> Result<Result<StoredEvent, String>, StoreError> {
    let doing = "reading a parked event";
    let row = sqlx::query(include_str!("../../sql/projection/dead_letter_event.sql"))
        .bind(letter.event_id.as_uuid())
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| store_error(e, doing))?
        .ok_or_else(|| {
            corrupt(format!(
                "parked event {} is not in the log",
                letter.event_id
            ))
        })?;
    match crate::rows::stored_event(&row, None) {
        Ok(event) => Ok(Ok(event)),
        Err(StoreError::Unreadable { reason, .. }) => Ok(Err(reason)),
        Err(error) => Err(error),
    }
}

/// Takes `event_id` out of `name`'s dead letters, replayed, and counts it, in `tx`.
pub(crate) async fn unpark(
    tx: &mut PgConnection,
    name: &'static str,
    event_id: EventId,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM projections.dead_letters WHERE projection = $1 AND event_id = $2")
        .bind(name)
        .bind(event_id.as_uuid())
        .execute(&mut *tx)
        .await
        .map_err(|e| store_error(e, &format!("`{name}`: removing a replayed dead letter")))?;
    Checkpoint::live(name).count_replayed(tx).await
}

/// Records that the replay of `event_id` failed again with `error`: one more attempt.
pub(crate) async fn failed_again(
    conn: &mut PgConnection,
    name: &str,
    event_id: EventId,
    error: &str,
) -> Result<(), StoreError> {
    sqlx::query(include_str!(
        "../../sql/projection/dead_letter_failed_again.sql"
    ))
    .bind(name)
    .bind(event_id.as_uuid())
    .bind(error)
    .execute(conn)
    .await
    .map_err(|e| store_error(e, &format!("`{name}`: recording a failed replay")))?;
    Ok(())
}

/// The events the projection (or relay) `name` parked, oldest first.
pub(crate) async fn list_dead_letters(
    pool: &sqlx::PgPool,
    name: &str,
) -> Result<Vec<DeadLetter>, StoreError> {
    let rows = sqlx::query(include_str!("../../sql/projection/dead_letter_list.sql"))
        .bind(name)
        .fetch_all(pool)
        .await
        .map_err(|e| store_error(e, "listing dead letters"))?;
    let letters = rows
        .iter()
        .map(|row| {
            Ok(DeadLetter {
                event_id: EventId::from(row.try_get::<uuid::Uuid, _>("event_id").map_err(corrupt)?),
                event_type: row.try_get("event_type").map_err(corrupt)?,
                position: log_position(
                    &row.try_get::<String, _>("transaction_id")
                        .map_err(corrupt)?,
                    row.try_get("position").map_err(corrupt)?,
                )?,
                error: row.try_get("error").map_err(corrupt)?,
                attempts: u32::try_from(row.try_get::<i32, _>("attempts").map_err(corrupt)?)
                    .unwrap_or(0),
                parked_at: row.try_get("parked_at").map_err(corrupt)?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(letters)
}
