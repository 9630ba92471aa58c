//! `/health/live`, `/health/ready`, and the sampler that turns the health check's
//! readings into gauges.

use std::time::Duration;

use acci_postgres::health::{HealthReport, HealthStatus};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tokio::sync::watch;

use super::AppState;
use super::read::{ReadSide, until_stopped};
use super::telemetry::{HEALTH_STATUS, PROJECTION_LAG_EVENTS, PROJECTION_LAG_SECONDS};

/// `GET /health/live`: the process answers. Nothing else is checked: a dead database
/// is a reason to stop sending traffic (readiness), not to restart the process.
pub(crate) async fn live() -> Response {
    Json(serde_json::json!({ "status": "live" })).into_response()
}

/// `GET /health/ready`: the [`HealthReport`] as JSON; 200 when ready or degraded, 503
/// when not ready.
pub(crate) async fn ready(State(state): State<AppState>) -> Response {
    let report = state.read.health().await;
    record(&report);
    let status = if report.status.is_serving() {
        StatusCode::OK
    } else {
        tracing::warn!(problems = ?report.problems(), "not ready");
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(report)).into_response()
}

/// Samples the health every `every` until `stopped`, so the lag gauges stay current
/// between readiness probes.
pub(crate) fn spawn_sampler(read: ReadSide, every: Duration, stopped: watch::Receiver<bool>) {
    tokio::spawn(until_stopped(stopped, async move {
        loop {
            record(&read.health().await);
            tokio::time::sleep(every).await;
        }
    }));
}

/// Sets the gauges from `report`'s readings. A projection whose reading is missing (the
/// database did not answer) keeps its last value.
fn record(report: &HealthReport) {
    let status = match report.status {
        HealthStatus::Ready => 0.0,
        HealthStatus::Degraded => 1.0,
        HealthStatus::NotReady => 2.0,
    };
    metrics::gauge!(HEALTH_STATUS).set(status);
    for reading in report.checks.iter().filter_map(|c| c.projection.as_ref()) {
        let projection = reading.projection.clone();
        metrics::gauge!(PROJECTION_LAG_EVENTS, "projection" => projection.clone())
            .set(reading.lag_events as f64);
        metrics::gauge!(PROJECTION_LAG_SECONDS, "projection" => projection)
            .set(reading.lag_seconds);
    }
}
