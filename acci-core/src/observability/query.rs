//! One read-model query, timed and traced.

use std::future::Future;
use std::time::Instant;

use metrics::Label;
use tracing::Instrument;

use super::names::{OUTCOME, QUERY, QUERY_DURATION_SECONDS, READ_MODEL, SPAN_QUERY, TENANT};
use super::{QueryOutcomeLabel, TenantLabels};
use crate::ids::TenantId;
use crate::query::QueryError;

/// Runs `future`, the query `query` (`get`, `page`, `find_by`, or an application's own
/// name) of the read model `read_model`, inside an `acci.query` span and records its
/// duration in [`QUERY_DURATION_SECONDS`] with its outcome. `tenant` is the caller's: a
/// span field always, a label only under [`TenantLabels`].
///
/// Both read models of ACCI call it for every query; a hand-written
/// [`QueryHandler`](crate::query::QueryHandler) may too.
pub async fn observe_query<T, F>(
    read_model: &'static str,
    query: &'static str,
    tenant: Option<&TenantId>,
    future: F,
) -> Result<T, QueryError>
where
    F: Future<Output = Result<T, QueryError>>,
{
    let span = tracing::info_span!(
        SPAN_QUERY,
        read_model,
        query,
        tenant = tenant.map(TenantId::as_str),
        outcome = tracing::field::Empty,
    );
    let started = Instant::now();
    let result = future.instrument(span.clone()).await;
    let outcome = QueryOutcomeLabel::of(&result).as_str();
    span.record("outcome", outcome);
    let mut labels = vec![
        Label::from_static_parts(READ_MODEL, read_model),
        Label::from_static_parts(QUERY, query),
        Label::from_static_parts(OUTCOME, outcome),
    ];
    if let (true, Some(tenant)) = (TenantLabels::enabled(), tenant) {
        labels.push(Label::new(TENANT, tenant.as_str().to_owned()));
    }
    metrics::histogram!(QUERY_DURATION_SECONDS, labels).record(started.elapsed());
    result
}
