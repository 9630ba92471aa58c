//! What the health check needs to know of a runner: its projection's name, the events it
//! selects and the key of its active-runner lease.

use super::lease::Lock;
use super::model::RunnerModel;
use super::runner::Runner;
use crate::health::ProjectionTarget;

/// The advisory-lock key the active runner of `projection` holds.
pub(crate) fn lease_key(projection: &str) -> String {
    Lock::Active.key(projection)
}

impl<M: RunnerModel> From<&Runner<M>> for ProjectionTarget {
    fn from(runner: &Runner<M>) -> Self {
        ProjectionTarget::selecting(runner.model.name(), runner.model.events())
    }
}
