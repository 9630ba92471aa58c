//! What a projection runner tells others after it committed: the rows a batch wrote, or
//! that a rebuilt table was swapped in. A cache of read-model rows listens
//! ([`BatchObserver`]) to drop what the commit made stale.

use std::fmt::Debug;

use async_trait::async_trait;
use serde_json::Value;

use crate::ids::TenantId;

/// One row a committed batch wrote: upserted (inserted or changed) or deleted.
#[derive(Debug, Clone, PartialEq)]
pub struct RowChange {
    /// The row's tenant; `None` in a [`Scope::Global`](super::Scope) read model.
    pub tenant: Option<TenantId>,
    /// The row's key as [`Projection::key_object`](super::Projection::key_object) makes
    /// it: the JSON object of its key columns by name, without the tenant.
    pub key: Value,
    /// Whether the row is gone (`true`) or holds new values (`false`).
    pub deleted: bool,
}

/// What committed, as a [`BatchObserver`] is told.
#[derive(Debug, Clone, Copy)]
pub enum Committed<'a> {
    /// A batch (or a replayed dead letter) committed and changed these rows of the live
    /// read model of `projection`. Never empty.
    Rows {
        /// The projection's [`NAME`](super::Projection::NAME).
        projection: &'static str,
        /// The rows, each once.
        rows: &'a [RowChange],
    },
    /// A rebuild of `projection` swapped its new table in: any row may have changed.
    Swapped {
        /// The projection's [`NAME`](super::Projection::NAME).
        projection: &'static str,
    },
}

impl Committed<'_> {
    /// The projection whose read model changed.
    pub fn projection(&self) -> &'static str {
        match self {
            Committed::Rows { projection, .. } | Committed::Swapped { projection } => projection,
        }
    }
}

/// Why a [`BatchObserver`] could not take in a commit. The runner logs it and goes on:
/// the commit stands whatever the observer does.
pub type ObserverError = Box<dyn std::error::Error + Send + Sync>;

/// Told by a projection runner after each commit that changed a live read model, in
/// commit order, before the runner starts its next batch. A read-model cache implements
/// it to drop the rows the commit made stale.
///
/// The runner bounds each call by a timeout and never retries it: an observer that must
/// not miss a change keeps its own bound on staleness (a cache's time to live).
#[async_trait]
pub trait BatchObserver: Send + Sync + Debug {
    /// Takes in what committed.
    async fn committed(&self, change: Committed<'_>) -> Result<(), ObserverError>;
}
