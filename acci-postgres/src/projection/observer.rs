//! The runner's [`BatchObserver`]: told after each commit that changed the live read
//! model, within a timeout, never blocking the runner beyond it.

use std::sync::Arc;
use std::time::Duration;

use acci_core::ValidationError;
use acci_core::projection::{BatchObserver, Committed};

/// The observer a runner tells, and how long it waits for it.
#[derive(Debug, Clone)]
pub(crate) struct Observer {
    observer: Arc<dyn BatchObserver>,
    timeout: Duration,
}

/// How long a runner waits for its observer by default.
pub const OBSERVER_TIMEOUT: Duration = Duration::from_millis(500);

impl Observer {
    /// Refuses a zero timeout, which would never let the observer finish.
    pub(crate) fn new(
        observer: Arc<dyn BatchObserver>,
        timeout: Duration,
    ) -> Result<Self, ValidationError> {
        if timeout.is_zero() {
            return Err(ValidationError::new(
                "batch observer timeout",
                "is zero; it must be positive",
            ));
        }
        Ok(Self { observer, timeout })
    }
}

/// Tells `observer`, if there is one, what committed. A failure or a timeout is logged
/// and dropped: the commit stands, and the observer keeps its own bound on staleness.
pub(crate) async fn tell(observer: Option<&Observer>, change: Committed<'_>) {
    let Some(observer) = observer else {
        return;
    };
    if matches!(change, Committed::Rows { rows: [], .. }) {
        return;
    }
    let projection = change.projection();
    match tokio::time::timeout(observer.timeout, observer.observer.committed(change)).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => {
            tracing::warn!(projection, %error, "the batch observer failed to take in a commit");
        }
        Err(_) => {
            tracing::warn!(projection, timeout = ?observer.timeout,
                "the batch observer did not take in a commit in time");
        }
    }
}
