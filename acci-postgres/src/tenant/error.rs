//! [`TenantError`]: why an export, an import or a verification failed.

use acci_core::{StoreError, ValidationError};

/// Why a tenant export, import or verification failed.
#[derive(Debug, thiserror::Error)]
pub enum TenantError {
    /// The store failed, or refused what was asked.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A request that cannot be carried out as given; nothing was done.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// Reading or writing the export failed.
    #[error("reading or writing the export failed: {0}")]
    Io(#[from] std::io::Error),
    /// A line of the export is not what the format says: `line` counts from 1.
    #[error("line {line} of the export: {problem}")]
    Format {
        /// The line.
        line: u64,
        /// What is wrong with it.
        problem: String,
    },
    /// The export and the store disagree: an event of the export at a place where the
    /// store holds another, or the log changed under an export.
    #[error("the export and the store disagree: {0}")]
    Changed(String),
    /// An export could not take its cut: a long transaction holds the log's horizon.
    #[error("the export cannot take its cut yet: {0}")]
    Held(String),
}

impl From<serde_json::Error> for TenantError {
    fn from(error: serde_json::Error) -> Self {
        TenantError::Format {
            line: 0,
            problem: error.to_string(),
        }
    }
}
