//! How database errors become [`StoreError`]s: which are the caller's fault, which are
//! conflicts, and which may succeed when tried again.

use acci_core::{StoreError, ValidationError};

/// SQLSTATE raised by the store's functions for input they refuse.
pub(crate) const VALIDATION_SQLSTATE: &str = "AC001";
/// SQLSTATE of a unique violation.
pub(crate) const UNIQUE_VIOLATION: &str = "23505";

/// SQLSTATE raised by `event_store.require_tenant` (and `read_log`) for a call naming a
/// tenant the session is not bound to; its DETAIL is `{"bound": …, "asked": …}`.
pub(crate) const WRONG_TENANT_SQLSTATE: &str = "AC002";

/// The tenants of a refused call, from the DETAIL of an `AC002` error.
#[derive(serde::Deserialize)]
struct WrongTenant {
    bound: Option<String>,
    asked: Option<String>,
}

/// Turns a database error into a [`StoreError`]; `doing` says what the store was doing.
/// A call the database refused for its tenant becomes [`StoreError::WrongTenant`].
pub(crate) fn store_error(error: sqlx::Error, doing: &str) -> StoreError {
    if let sqlx::Error::Database(db) = &error
        && db.code().as_deref() == Some(WRONG_TENANT_SQLSTATE)
    {
        let detail = db
            .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
            .and_then(|pg| pg.detail())
            .and_then(|detail| serde_json::from_str::<WrongTenant>(detail).ok());
        if let Some(WrongTenant { bound, asked }) = detail {
            return StoreError::WrongTenant { bound, asked };
        }
    }
    let retryable = is_retryable(&error);
    StoreError::Backend {
        message: format!("{doing}: {error}"),
        retryable,
        source: Some(Box::new(error)),
    }
}

/// Like [`store_error`], but input the store's SQL refused (SQLSTATE `AC001`) becomes a
/// validation error about `subject`, the SQL's message saying what is wrong with it.
pub(crate) fn refused_or_store_error(
    error: sqlx::Error,
    subject: &'static str,
    doing: &str,
) -> StoreError {
    match &error {
        sqlx::Error::Database(db) if db.code().as_deref() == Some(VALIDATION_SQLSTATE) => {
            ValidationError::new(subject, db.message().to_owned()).into()
        }
        _ => store_error(error, doing),
    }
}

/// Whether the same call may succeed later: lost or refused connections, a server that
/// is shutting down or starting, serialization failures and deadlocks.
pub(crate) fn is_retryable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::WorkerCrashed => true,
        // The server closed the connection mid-message.
        sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            code.starts_with("08") // connection exception
                || matches!(
                    code.as_ref(),
                    "57P01" // admin_shutdown
                        | "57P02" // crash_shutdown
                        | "57P03" // cannot_connect_now
                        | "40001" // serialization_failure
                        | "40P01" // deadlock_detected
                        | "53300" // too_many_connections
                        | "55P03" // lock_not_available
                )
        }),
        _ => false,
    }
}

/// The constraint a unique violation hit, if `error` is one.
pub(crate) fn unique_violation(error: &sqlx::Error) -> Option<&str> {
    match error {
        sqlx::Error::Database(db) if db.code().as_deref() == Some(UNIQUE_VIOLATION) => {
            db.constraint()
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::Connection;

    /// The refusal of `event_store.require_tenant`, raised as it raises it, becomes the
    /// typed error with both tenants.
    #[tokio::test]
    async fn a_wrong_tenant_refusal_becomes_wrong_tenant() {
        let url = std::env::var("DATABASE_URL")
            .unwrap_or_else(|_| crate::DEFAULT_DATABASE_URL.to_owned());
        let mut conn = sqlx::PgConnection::connect(&url).await.unwrap_or_else(|e| {
            panic!("this test needs PostgreSQL at `{url}` (set DATABASE_URL): {e}")
        });
        let error = sqlx::query(
            "DO $$ BEGIN RAISE EXCEPTION 'refused' USING ERRCODE = 'AC002', \
             DETAIL = '{\"bound\": \"tenant-a\", \"asked\": null}'; END $$",
        )
        .execute(&mut conn)
        .await
        .unwrap_err();
        match store_error(error, "reading") {
            StoreError::WrongTenant { bound, asked } => {
                assert_eq!(bound.as_deref(), Some("tenant-a"));
                assert_eq!(asked, None);
            }
            other => panic!("expected WrongTenant, got {other:?}"),
        }
    }
}
