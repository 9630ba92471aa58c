//! JSON logs, the Prometheus recorder, and the middleware that gives every request its
//! span (correlation id, tenant, user), its log line and its HTTP metrics.

use std::time::{Duration, Instant};

use acci_core::TenantId;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio::sync::watch;
use tracing::Instrument;
use uuid::Uuid;

use super::error::ApiError;

/// The header carrying the correlation id; made up when a request has none, and echoed
/// in the answer.
pub const CORRELATION_HEADER: &str = "x-correlation-id";
/// The header naming the tenant a request acts in.
pub const TENANT_HEADER: &str = "x-tenant-id";
/// The header naming the user a request acts for.
pub const USER_HEADER: &str = "x-user-id";

/// Requests served, by route and status.
pub const HTTP_REQUESTS: &str = "bank_service_http_requests_total";
/// How long requests took, by route.
pub const HTTP_DURATION: &str = "bank_service_http_request_duration_seconds";
/// The lag of a projection in events, as the health check last read it.
pub const PROJECTION_LAG_EVENTS: &str = "acci_projection_lag_events";
/// How long the oldest waiting event of a projection has waited, as the health check
/// last read it.
pub const PROJECTION_LAG_SECONDS: &str = "acci_projection_lag_seconds";
/// The overall health, as the sampler last read it: 0 ready, 1 degraded, 2 not ready.
pub const HEALTH_STATUS: &str = "bank_service_health_status";

/// The buckets of every histogram, in seconds (a histogram, not a summary, so that
/// quantiles can be aggregated across instances).
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Logs JSON lines to stdout, filtered by `RUST_LOG` (default `info`), each with the
/// fields of the spans it is in.
pub(crate) fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_span_list(true)
        .try_init();
}

/// Installs the Prometheus recorder every `metrics` series of the process goes to, and
/// describes ACCI's series and the service's own.
pub(crate) fn init_metrics() -> Result<PrometheusHandle, Box<dyn std::error::Error + Send + Sync>> {
    let handle = PrometheusBuilder::new()
        .set_buckets(BUCKETS)?
        .install_recorder()?;
    acci_core::observability::describe_metrics();
    metrics::describe_counter!(HTTP_REQUESTS, "HTTP requests served, by route and status");
    metrics::describe_histogram!(
        HTTP_DURATION,
        metrics::Unit::Seconds,
        "How long HTTP requests took, by route"
    );
    metrics::describe_gauge!(
        HEALTH_STATUS,
        "Overall health: 0 ready, 1 degraded, 2 not ready"
    );
    Ok(handle)
}

/// Drains the histograms' buffers every few seconds, as the exporter asks its user to.
pub(crate) fn spawn_upkeep(handle: PrometheusHandle, stopped: watch::Receiver<bool>) {
    tokio::spawn(super::read::until_stopped(stopped, async move {
        loop {
            tokio::time::sleep(Duration::from_secs(5)).await;
            handle.run_upkeep();
        }
    }));
}

/// Who a request acts for, from its headers.
#[derive(Debug, Clone)]
pub(crate) struct RequestContext {
    pub(crate) tenant: TenantId,
    pub(crate) user: Option<String>,
    pub(crate) correlation_id: Uuid,
}

impl RequestContext {
    /// The context of a request: `X-Tenant-Id` is required, `X-User-Id` optional, the
    /// correlation id set by [`observe`].
    pub(crate) fn from_headers(headers: &HeaderMap) -> Result<Self, ApiError> {
        let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let tenant = text(TENANT_HEADER)
            .ok_or_else(|| ApiError::validation("the `X-Tenant-Id` header is required"))?;
        let tenant = TenantId::new(tenant).map_err(|e| ApiError::validation(e.to_string()))?;
        let correlation_id = text(CORRELATION_HEADER)
            .and_then(|v| Uuid::parse_str(v).ok())
            .unwrap_or_else(Uuid::now_v7);
        Ok(Self {
            tenant,
            user: text(USER_HEADER).map(str::to_owned),
            correlation_id,
        })
    }
}

/// Gives each request a correlation id (the client's, if it is a UUID), runs it in a
/// span with that id, the tenant and the user, logs its outcome and counts it.
pub(crate) async fn observe(mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let headers = request.headers();
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let correlation_id = text(CORRELATION_HEADER)
        .and_then(|v| Uuid::parse_str(&v).ok())
        .unwrap_or_else(Uuid::now_v7);
    let tenant = text(TENANT_HEADER).unwrap_or_default();
    let user = text(USER_HEADER).unwrap_or_default();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().to_string();
    let correlation = HeaderValue::from_str(&correlation_id.to_string())
        .unwrap_or_else(|_| HeaderValue::from_static("invalid"));
    request
        .headers_mut()
        .insert(CORRELATION_HEADER, correlation.clone());
    let span = tracing::info_span!(
        "request",
        %method,
        %route,
        %correlation_id,
        tenant_id = %tenant,
        user_id = %user,
    );
    let mut response = next.run(request).instrument(span.clone()).await;
    let status = response.status();
    let elapsed = started.elapsed();
    span.in_scope(|| {
        tracing::info!(
            status = status.as_u16(),
            elapsed_ms = elapsed.as_secs_f64() * 1000.0,
            "request served"
        );
    });
    metrics::counter!(HTTP_REQUESTS, "route" => route.clone(), "status" => status.as_u16().to_string())
        .increment(1);
    metrics::histogram!(HTTP_DURATION, "route" => route).record(elapsed.as_secs_f64());
    response
        .headers_mut()
        .insert(CORRELATION_HEADER, correlation);
    response.into_response()
}
