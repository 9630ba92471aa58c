//! Errors as the service answers them: a status code and a JSON body
//! `{"error": kind, "message": …}`.

use acci_core::CommandError;
use acci_core::query::QueryError;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::read::WaitError;
use crate::bank::AccountError;

/// An error answer: what went wrong, as a status and a machine-readable kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiError {
    /// The HTTP status.
    #[serde(skip)]
    pub status: u16,
    /// What kind of error: `validation`, `unauthorized`, `not_found`, `conflict`,
    /// `refused`, `unavailable`, `internal`.
    pub error: &'static str,
    /// What happened, for a person.
    pub message: String,
}

impl ApiError {
    /// An error of `kind` with `status`.
    pub fn new(status: StatusCode, error: &'static str, message: impl Into<String>) -> Self {
        Self {
            status: status.as_u16(),
            error,
            message: message.into(),
        }
    }

    /// A request the service cannot make sense of: 400.
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "validation", message)
    }

    /// Nothing there: 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// A stale write: 409.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    /// The store or the read model cannot answer now: 503.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(self)).into_response()
    }
}

impl From<CommandError<AccountError>> for ApiError {
    fn from(error: CommandError<AccountError>) -> Self {
        let message = error.to_string();
        match error {
            CommandError::Validation(_) => ApiError::validation(message),
            CommandError::Unauthorized(_) => {
                ApiError::new(StatusCode::FORBIDDEN, "unauthorized", message)
            }
            CommandError::Domain(AccountError::NotOpen) => ApiError::not_found(message),
            CommandError::Domain(_) => ApiError::new(StatusCode::CONFLICT, "refused", message),
            CommandError::Concurrency { .. } => ApiError::conflict(message),
            CommandError::Persistence(store) if store.is_retryable() => {
                ApiError::unavailable(store.to_string())
            }
            _ => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message),
        }
    }
}

impl From<QueryError> for ApiError {
    fn from(error: QueryError) -> Self {
        let message = error.to_string();
        match error {
            QueryError::Unauthorized(_) => {
                ApiError::new(StatusCode::FORBIDDEN, "unauthorized", message)
            }
            QueryError::Validation(_) => ApiError::validation(message),
            QueryError::NotFound { .. } => ApiError::not_found(message),
            QueryError::Projection { .. } => ApiError::unavailable(message),
            QueryError::ReadModel {
                retryable: true, ..
            } => ApiError::unavailable(message),
            QueryError::ReadModel { .. } => {
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
            }
        }
    }
}

impl From<WaitError> for ApiError {
    fn from(error: WaitError) -> Self {
        ApiError::unavailable(error.to_string())
    }
}
