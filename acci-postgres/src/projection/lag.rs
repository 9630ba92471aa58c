//! A runner's lag against the log's head, for the gauges.

use std::future::Future;
use std::pin::Pin;

use super::checkpoint::Checkpoint;
use super::error::RunnerError;
use super::model::RunnerModel;
use super::runner::Runner;
use crate::observability::{ProjectionLag, SampleLag, sample_projection_lag};

impl<M: RunnerModel> Runner<M> {
    /// How far the projection trails the log's head: the committed events it selects
    /// after its checkpoint, those above the readable horizon included, and the age of
    /// the oldest; recorded in `acci_projection_lag_events` and
    /// `acci_projection_lag_seconds`. Unlike [`status`](Self::status), whose lag reads
    /// the log up to the horizon, this grows while a long transaction freezes the
    /// horizon.
    pub async fn sample_lag(&self) -> Result<ProjectionLag, RunnerError> {
        let name = self.model.name();
        let checkpoint = Checkpoint::live(name).read_prepared(&self.pool).await?;
        Ok(sample_projection_lag(
            &self.pool,
            name,
            checkpoint.position,
            Some(self.model.events()),
        )
        .await?)
    }
}

impl<M: RunnerModel> SampleLag for Runner<M> {
    fn projection(&self) -> &'static str {
        self.model.name()
    }

    fn sample(
        &self,
    ) -> Pin<Box<dyn Future<Output = Result<ProjectionLag, RunnerError>> + Send + '_>> {
        Box::pin(self.sample_lag())
    }
}
