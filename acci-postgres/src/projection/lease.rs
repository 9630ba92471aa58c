//! Advisory locks and the detached connections that hold them: the active-runner lease
//! (one active runner per projection across processes), the rebuild lock, and the
//! transaction lock that serializes `prepare`.

use std::time::Duration;

use acci_core::StoreError;
use sqlx::{PgConnection, PgPool};

use crate::error::store_error;

/// What a lock guards; its key is derived from the projection's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lock {
    /// The active runner of a projection.
    Active,
    /// A rebuild of a projection: they share the side table and its checkpoint.
    Rebuild,
    /// Preparing a projection (a transaction lock).
    Prepare,
}

impl Lock {
    pub(crate) fn key(self, projection: &str) -> String {
        let what = match self {
            Lock::Active => "projection",
            Lock::Rebuild => "rebuild",
            Lock::Prepare => "prepare",
        };
        format!("acci.{what}.{projection}")
    }
}

/// A connection taken out of the pool. Runners hold session-level advisory locks on
/// their connections; out of the pool, such a connection closes when the runner stops or
/// its task is cancelled, and the lock goes with it instead of going back into the pool.
pub(crate) async fn detached_connection(pool: &PgPool) -> Result<PgConnection, StoreError> {
    let conn = pool
        .acquire()
        .await
        .map_err(|e| store_error(e, "acquiring a connection"))?;
    Ok(conn.detach())
}

/// Waits until `conn`'s session holds `lock` of `projection`, trying every `interval`.
pub(crate) async fn wait_for_lock(
    conn: &mut PgConnection,
    lock: Lock,
    projection: &str,
    interval: Duration,
) -> Result<(), StoreError> {
    let key = lock.key(projection);
    loop {
        let locked: bool =
            sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtextextended($1, 0))")
                .bind(&key)
                .fetch_one(&mut *conn)
                .await
                .map_err(|e| store_error(e, &format!("taking the lock `{key}`")))?;
        if locked {
            return Ok(());
        }
        tokio::time::sleep(interval).await;
    }
}

/// Takes `lock` of `projection` for `conn`'s session, waiting in the database for it.
pub(crate) async fn lock(
    conn: &mut PgConnection,
    lock: Lock,
    projection: &str,
) -> Result<(), StoreError> {
    let key = lock.key(projection);
    sqlx::query("SELECT pg_advisory_lock(hashtextextended($1, 0))")
        .bind(&key)
        .execute(conn)
        .await
        .map_err(|e| store_error(e, &format!("taking the lock `{key}`")))?;
    Ok(())
}

/// Takes `lock` of `projection` until the transaction `conn` is in ends.
pub(crate) async fn lock_for_transaction(
    conn: &mut PgConnection,
    lock: Lock,
    projection: &str,
) -> Result<(), StoreError> {
    let key = lock.key(projection);
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(&key)
        .execute(conn)
        .await
        .map_err(|e| store_error(e, &format!("taking the lock `{key}`")))?;
    Ok(())
}

/// Gives `lock` of `projection` back if the connection still lives; a dead one released
/// it already.
pub(crate) async fn unlock(conn: &mut PgConnection, lock: Lock, projection: &str) {
    let _ = sqlx::query("SELECT pg_advisory_unlock(hashtextextended($1, 0))")
        .bind(lock.key(projection))
        .execute(conn)
        .await;
}
