//! The checkpoint of a projection: where it stands in the log and what it counted. One
//! row in `projections.checkpoints`, read, advanced, reset and promoted here alone.

use std::borrow::Cow;

use acci_core::{LogPosition, StoreError};
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor, Row};

use super::error::RunnerError;
use crate::error::store_error;
use crate::rows::{corrupt, log_position, to_i64, to_u64};

/// The checkpoint of a projection's live read model, or of a rebuild beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Checkpoint {
    projection: &'static str,
    rebuild: bool,
}

/// A checkpoint as stored.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CheckpointRow {
    /// The read model's version it belongs to.
    pub(crate) version: u32,
    /// The last log position applied or passed.
    pub(crate) position: LogPosition,
    /// Events applied, parked and skipped, ever.
    pub(crate) counts: Counts,
    /// When the last applied event was recorded.
    pub(crate) last_event_at: Option<DateTime<Utc>>,
    /// The last error, until a batch succeeds again.
    pub(crate) last_error: Option<String>,
    /// Since when turns of the runner fail in a row, until a batch succeeds again.
    pub(crate) failing_since: Option<DateTime<Utc>>,
    /// How many turns failed in a row.
    pub(crate) failing_attempts: u32,
}

/// Events applied, parked and skipped: in all, or by one batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) applied: u64,
    pub(crate) parked: u64,
    pub(crate) skipped: u64,
}

/// What one committed batch moves the checkpoint by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Advance {
    /// Where the batch found the checkpoint.
    pub(crate) from: LogPosition,
    /// Where it leaves it.
    pub(crate) to: LogPosition,
    /// What it did with its events.
    pub(crate) counts: Counts,
    /// When its last event was recorded, if it had one.
    pub(crate) last_event_at: Option<DateTime<Utc>>,
}

impl Checkpoint {
    /// The checkpoint of the live read model.
    pub(crate) fn live(projection: &'static str) -> Self {
        Self {
            projection,
            rebuild: false,
        }
    }

    /// The checkpoint of a rebuild of `projection`.
    pub(crate) fn rebuild(projection: &'static str) -> Self {
        Self {
            projection,
            rebuild: true,
        }
    }

    /// Its key in `projections.checkpoints`.
    fn key(self) -> Cow<'static, str> {
        if self.rebuild {
            Cow::Owned(format!("{}#rebuild", self.projection))
        } else {
            Cow::Borrowed(self.projection)
        }
    }

    fn doing(self, what: &str) -> String {
        format!("projection `{}`: {what}", self.projection)
    }

    /// The stored checkpoint, if there is one.
    pub(crate) async fn read<'c>(
        self,
        conn: impl PgExecutor<'c>,
    ) -> Result<Option<CheckpointRow>, StoreError> {
        let Some(row) = sqlx::query(include_str!("../../sql/projection/checkpoint_read.sql"))
            .bind(self.key())
            .fetch_optional(conn)
            .await
            .map_err(|e| store_error(e, &self.doing("reading the checkpoint")))?
        else {
            return Ok(None);
        };
        let count = |column: &'static str| -> Result<u64, StoreError> {
            to_u64(row.try_get(column).map_err(corrupt)?, column)
        };
        Ok(Some(CheckpointRow {
            version: u32::try_from(row.try_get::<i32, _>("version").map_err(corrupt)?)
                .map_err(corrupt)?,
            position: log_position(
                &row.try_get::<String, _>("transaction_id")
                    .map_err(corrupt)?,
                row.try_get("position").map_err(corrupt)?,
            )?,
            counts: Counts {
                applied: count("events_applied")?,
                parked: count("events_parked")?,
                skipped: count("events_skipped")?,
            },
            last_event_at: row.try_get("last_event_at").map_err(corrupt)?,
            last_error: row.try_get("last_error").map_err(corrupt)?,
            failing_since: row.try_get("failing_since").map_err(corrupt)?,
            failing_attempts: u32::try_from(
                row.try_get::<i32, _>("failing_attempts").map_err(corrupt)?,
            )
            .unwrap_or(0),
        }))
    }

    /// Only the stored position, if there is a checkpoint: what the application role
    /// (`acci_app`) may read of it, which excludes `last_error`, whose text may quote
    /// another tenant's data.
    pub(crate) async fn read_position<'c>(
        self,
        conn: impl PgExecutor<'c>,
    ) -> Result<Option<LogPosition>, StoreError> {
        let Some(row) = sqlx::query(include_str!("../../sql/projection/checkpoint_position.sql"))
            .bind(self.key())
            .fetch_optional(conn)
            .await
            .map_err(|e| store_error(e, &self.doing("reading the checkpoint's position")))?
        else {
            return Ok(None);
        };
        Ok(Some(log_position(
            &row.try_get::<String, _>("transaction_id")
                .map_err(corrupt)?,
            row.try_get("position").map_err(corrupt)?,
        )?))
    }

    /// The stored checkpoint; [`RunnerError::NotPrepared`] if there is none.
    pub(crate) async fn read_prepared<'c>(
        self,
        conn: impl PgExecutor<'c>,
    ) -> Result<CheckpointRow, RunnerError> {
        self.read(conn).await?.ok_or(RunnerError::NotPrepared {
            projection: self.projection,
        })
    }

    /// Creates the checkpoint at the start of the log, at `version`.
    pub(crate) async fn create(
        self,
        conn: &mut PgConnection,
        version: u32,
    ) -> Result<(), StoreError> {
        self.insert(conn, version, "").await
    }

    /// Creates the checkpoint at the start of the log, at `version`, unless it exists.
    pub(crate) async fn ensure(
        self,
        conn: &mut PgConnection,
        version: u32,
    ) -> Result<(), StoreError> {
        self.insert(conn, version, " ON CONFLICT (name) DO NOTHING")
            .await
    }

    /// The insert of [`create`](Self::create) and [`ensure`](Self::ensure), with what
    /// follows it (`on_conflict`).
    async fn insert(
        self,
        conn: &mut PgConnection,
        version: u32,
        on_conflict: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(&format!(
            "INSERT INTO projections.checkpoints (name, version) VALUES ($1, $2){on_conflict}"
        ))
        .bind(self.key())
        .bind(version_param(version))
        .execute(conn)
        .await
        .map_err(|e| store_error(e, &self.doing("creating the checkpoint")))?;
        Ok(())
    }

    /// Puts the checkpoint back to the start of the log, at `version`, nothing counted;
    /// creates it if missing.
    pub(crate) async fn reset(
        self,
        conn: &mut PgConnection,
        version: u32,
    ) -> Result<(), StoreError> {
        sqlx::query(include_str!("../../sql/projection/checkpoint_reset.sql"))
            .bind(self.key())
            .bind(version_param(version))
            .execute(conn)
            .await
            .map_err(|e| store_error(e, &self.doing("resetting the checkpoint")))?;
        Ok(())
    }

    /// Moves the checkpoint by one batch, only if it is still where the batch found it: a
    /// second runner that got there first makes this batch roll back
    /// ([`RunnerError::CheckpointMoved`]) instead of counting twice.
    pub(crate) async fn advance(
        self,
        conn: &mut PgConnection,
        advance: Advance,
    ) -> Result<(), RunnerError> {
        let Advance {
            from,
            to,
            counts,
            last_event_at,
        } = advance;
        let moved = sqlx::query(include_str!("../../sql/projection/checkpoint_advance.sql"))
            .bind(self.key())
            .bind(to.commit.to_string())
            .bind(to_i64(to.position, "log position")?)
            .bind(to_i64(counts.applied, "events applied")?)
            .bind(to_i64(counts.parked, "events parked")?)
            .bind(last_event_at)
            .bind(from.commit.to_string())
            .bind(to_i64(from.position, "log position")?)
            .bind(to_i64(counts.skipped, "events skipped")?)
            .execute(conn)
            .await
            .map_err(|e| store_error(e, &self.doing("saving the checkpoint")))?;
        if moved.rows_affected() != 1 {
            return Err(RunnerError::CheckpointMoved {
                projection: self.projection,
            });
        }
        Ok(())
    }

    /// Makes this rebuild's checkpoint the live one and removes it.
    pub(crate) async fn promote(self, conn: &mut PgConnection) -> Result<(), StoreError> {
        debug_assert!(self.rebuild, "only a rebuild's checkpoint is promoted");
        let doing = self.doing("promoting the rebuilt checkpoint");
        sqlx::query(include_str!("../../sql/projection/checkpoint_promote.sql"))
            .bind(self.projection)
            .bind(self.key())
            .execute(&mut *conn)
            .await
            .map_err(|e| store_error(e, &doing))?;
        sqlx::query("DELETE FROM projections.checkpoints WHERE name = $1")
            .bind(self.key())
            .execute(&mut *conn)
            .await
            .map_err(|e| store_error(e, &doing))?;
        Ok(())
    }

    /// Counts one parked event that projected on replay.
    pub(crate) async fn count_replayed(self, conn: &mut PgConnection) -> Result<(), StoreError> {
        sqlx::query(include_str!("../../sql/projection/checkpoint_replayed.sql"))
            .bind(self.key())
            .execute(conn)
            .await
            .map_err(|e| store_error(e, &self.doing("counting a replayed event")))?;
        Ok(())
    }

    /// Records `error` as the last one and counts one more failed turn, until a batch
    /// succeeds again. Best effort: the database may be what failed.
    pub(crate) async fn note_error<'c>(self, conn: impl PgExecutor<'c>, error: &str) {
        let _ = sqlx::query(include_str!("../../sql/projection/checkpoint_failed.sql"))
            .bind(self.key())
            .bind(error)
            .execute(conn)
            .await;
    }

    /// Clears the last error and the count of failed turns: the runner works again.
    pub(crate) async fn clear_error<'c>(self, conn: impl PgExecutor<'c>) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE projections.checkpoints SET last_error = NULL, failing_since = NULL, \
             failing_attempts = 0, updated_at = clock_timestamp() WHERE name = $1",
        )
        .bind(self.key())
        .execute(conn)
        .await
        .map_err(|e| store_error(e, &self.doing("clearing the last error")))?;
        Ok(())
    }
}

/// A read-model version as the `integer` column holds it.
pub(crate) fn version_param(version: u32) -> i32 {
    i32::try_from(version).unwrap_or(i32::MAX)
}
