//! Events the store cannot hand out at all ([`StoreError::Unreadable`]: written past the
//! API by raw SQL, nested too deep or with malformed metadata), met where a batch was to
//! start: each is that event's failure under the policy, then parked (or skipped) and
//! passed in a batch of its own, so no runner halts on one row.

use acci_core::{EventId, LogPosition, StoreError};
use sqlx::{Executor, PgConnection};

use super::batch::{BatchContext, BatchOutcome};
use super::checkpoint::{Advance, Counts};
use super::error::{BatchError, EventFailure};
use super::model::RunnerModel;
use super::options::FailurePolicy;
use crate::error::store_error;
use crate::rows::corrupt;

/// An event the store could not hand out, where a batch was to start.
pub(crate) struct Unreadable {
    pub(crate) event_id: EventId,
    pub(crate) position: LogPosition,
    pub(crate) reason: String,
}

/// The batch of an event the store could not hand out: its failure, until it is due
/// under the policy; then parked (or skipped) and passed, in a batch of its own.
pub(crate) async fn set_aside_unreadable<M: RunnerModel>(
    context: &BatchContext<'_, M>,
    mut tx: sqlx::Transaction<'_, sqlx::Postgres>,
    after: LogPosition,
    unreadable: Unreadable,
) -> Result<BatchOutcome, BatchError> {
    let Unreadable {
        event_id,
        position,
        reason,
    } = unreadable;
    let name = context.model.name();
    let Some(failure) = context.failures.due(&event_id, context.policy) else {
        return Err(BatchError::Event {
            event_id,
            position,
            error: EventFailure::Unreadable { reason },
        });
    };
    let mut counts = Counts::default();
    if context.policy == FailurePolicy::Skip {
        tracing::warn!(projection = name, %event_id, error = %failure.error,
            "skipping an event that cannot be read");
        counts.skipped = 1;
    } else {
        park_unreadable(name, &mut tx, event_id, &failure.error, failure.attempts).await?;
        counts.parked = 1;
    }
    let advance = Advance {
        from: after,
        to: position,
        counts,
        last_event_at: None,
    };
    context.checkpoint.advance(&mut tx, advance).await?;
    tx.commit()
        .await
        .map_err(|e| store_error(e, &format!("projection `{name}`: committing a batch")))?;
    Ok(BatchOutcome {
        counts,
        set_aside: vec![event_id],
        caught_up: false,
        checkpoint: position,
        written: Vec::new(),
    })
}

/// Parks `event_id`, which the store could not hand out ([`EventFailure::Unreadable`]),
/// for `projection`: its envelope is read from the log row by id, inside the batch's
/// transaction (which reads every tenant).
pub(crate) async fn park_unreadable(
    projection: &str,
    conn: &mut PgConnection,
    event_id: EventId,
    error: &EventFailure,
    attempts: u32,
) -> Result<(), StoreError> {
    tracing::warn!(projection, %event_id, %error, "parking an event that cannot be read");
    let doing = format!("projection `{projection}`: parking an unreadable event");
    conn.execute("SELECT set_config('acci.all_tenants', 'on', true)")
        .await
        .map_err(|e| store_error(e, &doing))?;
    let parked = sqlx::query(include_str!(
        "../../sql/projection/dead_letter_park_unreadable.sql"
    ))
    .bind(projection)
    .bind(event_id.as_uuid())
    .bind(error.to_string())
    .bind(i32::try_from(attempts).unwrap_or(i32::MAX))
    .execute(conn)
    .await
    .map_err(|e| store_error(e, &doing))?;
    if parked.rows_affected() != 1 {
        return Err(corrupt(format!(
            "unreadable event {event_id} is not in the log"
        )));
    }
    Ok(())
}
